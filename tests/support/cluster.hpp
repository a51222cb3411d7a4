// Helpers for integration tests of several `waymark` nodes forming a cluster
// on loopback (ports chosen at run time).
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
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!fact()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace waymark::it
