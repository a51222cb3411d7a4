#include "actors/router.hpp"

#include <algorithm>

#include "waymark/cluster.hpp"

namespace waymark {

void Router::set_local(std::vector<caf::actor> managers, uint32_t partitions) {
  managers_ = std::move(managers);
  partitions_ = partitions > 0 ? partitions : 1;
}

void Router::clear() {
  managers_.clear();
  remote_.clear();
}

uint32_t Router::partition_of(std::string_view customer_key) const {
  return cluster::partition_of(customer_key, partitions_);
}

const caf::actor& Router::route(std::string_view customer_key) const {
  if (!remote_.empty()) {
    auto& forwarder = remote_[partition_of(customer_key) % remote_.size()];
    if (forwarder) return forwarder;
  }
  return route_local(customer_key);
}

const caf::actor& Router::route_local(std::string_view customer_key) const {
  static const caf::actor none;
  if (managers_.empty()) return none;
  return managers_[partition_of(customer_key) % managers_.size()];
}

std::vector<caf::actor> Router::forwarders() const {
  std::vector<caf::actor> out;
  for (auto& f : remote_)
    if (f && std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  return out;
}

}  // namespace waymark
