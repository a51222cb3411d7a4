// The one answer to "which actor takes this customer's messages": the key's
// partition (cluster::partition_of, PRODUCT.md §9) and the actor that handles
// that partition here: a local journey manager today; in a cluster, the link
// to the partition's owner for partitions this node does not own.
//
// Filled once at start-up before any message flows and cleared after the
// actors stopped; route() is then safe from any thread.
#pragma once

#include <caf/all.hpp>
#include <cstdint>
#include <string_view>
#include <vector>

namespace waymark {

class Router {
public:
  /// Every partition on a local manager: partition p -> managers[p % size].
  void set_local(std::vector<caf::actor> managers, uint32_t partitions);
  /// In a cluster: `remote[p]` takes partition p's messages when not null
  /// (the forwarder to p's owner); the other partitions stay local. Called
  /// before any message flows.
  void set_remote(std::vector<caf::actor> remote) { remote_ = std::move(remote); }
  /// Releases every handle (shutdown); route() then answers a null actor.
  void clear();

  uint32_t partition_of(std::string_view customer_key) const;
  /// The actor for `customer_key` (null after clear(): sends go nowhere).
  const caf::actor& route(std::string_view customer_key) const;
  /// This node's manager for `customer_key`, whoever owns it (an owner
  /// handing a forwarded event to its manager).
  const caf::actor& route_local(std::string_view customer_key) const;
  /// The forwarders (one per peer), for shutdown.
  std::vector<caf::actor> forwarders() const;
  /// The local journey managers (broadcasts, shutdown, live-actor budget).
  const std::vector<caf::actor>& local_managers() const { return managers_; }

private:
  uint32_t partitions_ = 1;
  std::vector<caf::actor> managers_;
  std::vector<caf::actor> remote_;  // partition -> forwarder; empty on a single node
};

}  // namespace waymark
