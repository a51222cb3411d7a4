// Helpers for tests that start several real `waymark` members on loopback
// (PRODUCT.md §9): cluster ports, member configs, the view as a node reports it.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/node.hpp"

namespace waymark::it {

/// `n` distinct ports free at the time of asking (members must know each
/// other's addresses before they start, so the cluster port cannot be 0).
/// They are drawn below the kernel's ephemeral range (32768 and up here), so
/// no other test's node binding port 0 can take one before our node binds it,
/// and held until all are picked, so none is handed out twice.
std::vector<uint16_t> free_ports(size_t n);

inline std::string addr(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

/// Options of a member listening on `self` with `peers` (and `partitions`).
NodeOptions member(uint16_t self, const std::vector<uint16_t>& peers, int partitions = 32);

/// address -> up, from GET /api/cluster.
std::map<std::string, bool> members_up(Node& node);
/// Every one of `members` members up, as `node` sees them, and `node` ready
/// (its catalog in step with the leader's: it takes events).
bool all_up(Node& node, size_t members = 3);

/// The member owning `customer`'s partition, by GET /api/cluster on `node`.
std::string owner_of(Node& node, const std::string& customer);

template <class F>
bool eventually(F fact, int timeout_ms = 15000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!fact()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace waymark::it
