// What every actor of a node shares: config, store, clock, catalog snapshot,
// metrics, and the handles of the long-lived actors. Created once by
// node.cpp before any actor starts; outlives them all.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "http/server.hpp"
#include "waymark/clock.hpp"
#include "waymark/cluster.hpp"
#include "waymark/config.hpp"
#include "waymark/engine.hpp"
#include "waymark/handoffs.hpp"
#include "waymark/merge_waits.hpp"
#include "waymark/input_budget.hpp"
#include "waymark/store.hpp"
#include "actors/router.hpp"

namespace waymark {

/// A Prometheus histogram with fixed upper bounds (relaxed atomics).
template <size_t N>
struct Histogram {
  std::array<double, N> bounds;
  std::array<std::atomic<uint64_t>, N + 1> counts{};  // last = +Inf
  std::atomic<uint64_t> count{0};
  std::atomic<double> sum{0};
  explicit Histogram(std::array<double, N> b) : bounds(b) {}
  void observe(double v) {
    size_t i = 0;
    while (i < N && v > bounds[i])
      ++i;
    counts[i].fetch_add(1, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
    double cur = sum.load(std::memory_order_relaxed);
    while (!sum.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
  }
};

/// Counters for /metrics and /api/stats. Hot counters are relaxed atomics.
struct Metrics {
  /// Customer writes per LMDB transaction, and the commit's duration (s).
  Histogram<9> commit_batch{{1, 4, 16, 64, 256, 1024, 4096, 8192, 16384}};
  Histogram<10> commit_seconds{{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};
  std::atomic<uint64_t> events_received{0};
  std::atomic<uint64_t> events_acked{0};
  std::atomic<uint64_t> http_unauthorized{0};  // admin requests refused (401)
  std::atomic<uint64_t> http_forbidden{0};     // admin requests refused for their role or team (403)
  std::atomic<uint64_t> outcome_requests_refused{0};  // outcome routes: bad query (400/404/422)
  std::atomic<uint64_t> events_nacked{0};
  std::atomic<uint64_t> events_deduplicated{0};
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> commit_events{0};
  std::atomic<uint64_t> commit_failures{0};
  std::atomic<uint64_t> commit_us_total{0};
  std::atomic<uint64_t> customers_live{0};
  std::atomic<uint64_t> customers_spawned{0};
  std::atomic<uint64_t> customers_passivated{0};
  std::atomic<uint64_t> customers_restarted{0};
  std::atomic<uint64_t> customers_unreadable{0};  // actors started on a stored state that could not be read
  std::atomic<uint64_t> timers_fired{0};
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> cluster_peers_up{0};  // other members with a live link (cluster only)
  std::atomic<uint64_t> cluster_handoffs_out{0};   // partitions handed to their new owner
  std::atomic<uint64_t> cluster_handoff_records_in{0};
  std::atomic<uint64_t> cluster_handoff_records_out{0};
  std::atomic<uint64_t> connections_paused{0};  // times a connection stopped reading (window full)
  std::atomic<uint64_t> connections_paused_node{0};  // ... of them because the node's input budget was spent
  std::atomic<uint64_t> tcp_closed_idle{0};        // limits.connection_idle_s
  std::atomic<uint64_t> tcp_closed_incomplete{0};  // limits.connection_incomplete_s (incl. no hello)
  std::atomic<uint64_t> tcp_closed_evicted{0};     // idle, closed to make room at limits.connections_max
  std::atomic<uint64_t> deliveries_written{0};
  std::atomic<uint64_t> deliveries_failed{0};
  // (outbox_pending is the store's count of outbox entries: Store::outbox_entries)
  std::atomic<uint64_t> deliveries_dropped{0};  // held by a gateway when their customer was erased: not sent
  std::atomic<uint64_t> deliveries_retried{0};  // attempts that ended in "retry later"
  std::atomic<uint64_t> deliveries_dead{0};     // dead letters: attempts_max reached
  std::atomic<uint64_t> deliveries_unknown{0};  // outcome unknown (e.g. SMTP connection lost after DATA)
  std::atomic<uint64_t> links_followed{0};  // tracked links answered with a redirect (PRODUCT.md §10)
  std::atomic<uint64_t> links_refused{0};   // tracked links refused: unknown delivery or link, bad signature

  /// Final delivery outcomes per (channel, status): delivered | failed | dead | unknown.
  void delivery_outcome(const std::string& channel, const std::string& status) {
    std::lock_guard<std::mutex> g(mu);
    ++delivery_outcomes[{channel, status}];
  }
  std::map<std::pair<std::string, std::string>, uint64_t> delivery_counts() const {
    std::lock_guard<std::mutex> g(mu);
    return delivery_outcomes;
  }

  void nack(const std::string& reason) {
    events_nacked.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> g(mu);
    ++nack_reasons[reason];
  }
  std::map<std::string, uint64_t> nack_counts() const {
    std::lock_guard<std::mutex> g(mu);
    return nack_reasons;
  }

private:
  mutable std::mutex mu;
  std::map<std::string, uint64_t> nack_reasons;
  std::map<std::pair<std::string, std::string>, uint64_t> delivery_outcomes;
};

/// The current catalog (journeys, templates, channel policies). Readers take a
/// snapshot; the catalog actor publishes a new one after each committed deploy.
class CatalogHolder {
public:
  CatalogPtr get() const { return std::atomic_load(&ptr_); }
  void set(CatalogPtr p) { std::atomic_store(&ptr_, std::move(p)); }

private:
  CatalogPtr ptr_ = std::make_shared<Catalog>();
};

/// In a cluster (PRODUCT.md §9): the partitions this node owns and, of those,
/// which have taken in what other members still held of them (hand-off): a
/// partition takes events only then. Set once at start-up, before any actor.
class Ownership {
public:
  void init(std::vector<bool> owned, bool ready) {
    owned_ = std::move(owned);
    ready_ = std::make_unique<std::atomic<bool>[]>(owned_.size());
    for (size_t p = 0; p < owned_.size(); ++p)
      ready_[p].store(ready || !owned_[p]);
  }
  bool owns(uint32_t p) const { return owned_.empty() || owned_[p]; }
  bool ready(uint32_t p) const { return owned_.empty() || ready_[p].load(std::memory_order_acquire); }
  void set_ready(uint32_t p) { ready_[p].store(true, std::memory_order_release); }
  size_t partitions() const { return owned_.size(); }

private:
  std::vector<bool> owned_;  // empty on a single node: it owns every partition
  std::unique_ptr<std::atomic<bool>[]> ready_;
};

struct NodeContext {
  Config config;
  std::shared_ptr<Store> store;
  std::shared_ptr<Clock> clock;
  CatalogHolder catalog;
  Metrics metrics;
  MergeWaits merges;  // customers waiting for another's state (alias): no cycle of waits
  Handoffs handoffs;  // cluster: customers of this node being merged into another owner's
  // The last epoch given to a customer actor: each incarnation takes the next
  // one, so writes of an incarnation whose commit failed are told apart from
  // those of the incarnation that replaces it (CommitItem::epoch).
  std::atomic<uint64_t> customer_epochs{0};
  InputBudget input_budget;  // limits.node_unacked_bytes_max (set at start)
  // Attribution and CLV computations running (each on its own thread):
  // at most kOutcomeJobsMax (actors/http_outcomes.cpp), more are refused.
  std::atomic<int> outcome_jobs{0};
  // long-lived actors (set by node.cpp during start-up)
  caf::actor store_actor;
  caf::actor timer_service;
  caf::actor catalog_actor;
  caf::actor status_events;  // records final delivery statuses as events (actors/status_events.hpp)
  caf::actor cluster;  // cluster links (actors/cluster_link.hpp); null on a single node
  caf::actor merger;   // merges across owners (actors/cluster_merge.hpp); null on a single node
  // In a cluster (set before any actor starts): the agreed view, and whether
  // this node's catalog is in step with the catalog leader (the view's first
  // member). Until it is, events are nacked with retry ("catalog_sync").
  std::shared_ptr<const cluster::Membership> view;
  std::atomic<bool> catalog_ready{true};
  Ownership ownership;
  // Partitions this node holds records of but does not own (found at start:
  // the member list changed); each is handed to its owner, then erased here.
  std::mutex held_mu;
  std::set<uint32_t> held_foreign;
  // The admin API's handler (set before the HTTP server starts): a peer's
  // relayed request (HttpCall) runs through it too.
  http::Handler http_handler;
  std::map<std::string, caf::actor> gateways;  // channel -> gateway
  Router router;  // customer key -> the actor that takes its messages
};

}  // namespace waymark
