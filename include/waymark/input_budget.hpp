// The node's input budget (PRODUCT.md §8): the bytes of input read from all
// connections (TCP lines, HTTP ingest bodies) and not yet acknowledged.
//
// Owner: NodeContext (one per node). Any thread may take and give back; the
// counter is one relaxed atomic. Watermarks with hysteresis: readers stop at
// `max_bytes` (exhausted); paused TCP readers are woken by the gateway's
// acceptor once the total falls below half of it (may_resume).
#pragma once

#include <atomic>
#include <cstdint>

namespace waymark {

class InputBudget {
public:
  explicit InputBudget(uint64_t max_bytes = 64ull << 20) : max_(max_bytes) {}
  InputBudget(const InputBudget&) = delete;
  InputBudget& operator=(const InputBudget&) = delete;

  /// Set before any reader starts (node start-up); not thread-safe with take/give_back.
  void set_max(uint64_t max_bytes) { max_ = max_bytes; }

  /// Counts `n` bytes read. Taking never fails: callers check exhausted()
  /// before they read more, so the total overshoots by at most one read each.
  void take(uint64_t n) {
    auto now = used_.fetch_add(n, std::memory_order_relaxed) + n;
    auto peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }

  /// Counts `n` bytes acknowledged (or dropped with their connection).
  void give_back(uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }

  /// True while readers must not read more.
  bool exhausted() const { return used() >= max_; }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  /// The highest total seen since start.
  uint64_t peak() const { return peak_.load(std::memory_order_relaxed); }
  uint64_t max_bytes() const { return max_; }
  /// True when paused readers may be woken: below half the maximum.
  bool may_resume() const { return used() < max_ / 2; }

private:
  uint64_t max_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> peak_{0};
};

}  // namespace waymark
