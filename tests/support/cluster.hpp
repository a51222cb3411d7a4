// Helpers for tests that start several real `waymark` members on loopback
// (PRODUCT.md §9): cluster ports, member configs, the view as a node reports it.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
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

/// Starts one member per port, each listing all the others; empty when one
/// did not start (its logs are in the failure message of the test).
std::vector<std::unique_ptr<Node>> start_members(const std::vector<uint16_t>& ports);

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

/// `n` distinct ports free at the time of asking, ascending (members must know
/// each other's addresses before they start, so the cluster port cannot be 0).
/// Drawn below the kernel's ephemeral range, so that no node binding port 0
/// takes one first; all held until all are picked.
std::vector<uint16_t> free_cluster_ports(size_t n);

inline std::string loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

/// address -> up, from GET /api/cluster (empty when it does not answer).
std::map<std::string, bool> cluster_members_up(Node& node);

/// The member owning `customer`'s partition, by GET /api/cluster on `node`.
std::string cluster_owner_of(Node& node, const std::string& customer);

/// How many history entries of `customer` (at `node`) are named `name`.
int cluster_history_count(Node& node, const std::string& customer, const std::string& name);

/// The value of the sample `name_and_labels` (e.g. `x_total{reason="tls"}`)
/// in the node's /metrics, 0 when absent.
uint64_t metric_value(Node& node, const std::string& name_and_labels);

/// User plus system CPU time the process has used so far (from /proc/<pid>/stat).
std::chrono::duration<double> process_cpu(pid_t pid);

/// Polls `fact` every 50 ms until it holds or `timeout_ms` passed.
template <class F>
bool eventually_true(F fact, int timeout_ms = 15000) {
  return eventually(std::move(fact), timeout_ms);
}

}  // namespace waymark::it
