#include "actors/node_context.hpp"

#include "waymark/cluster.hpp"

namespace waymark {

// Stable across runs and nodes (PRODUCT.md §3: customer -> partition by a
// stable hash of the customer key).
size_t NodeContext::partition_of(const std::string& customer) const {
  return cluster::partition_of(customer, static_cast<uint32_t>(config.partitions));
}

}  // namespace waymark
