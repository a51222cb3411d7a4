// Merges in flight as a wait-for graph (PRODUCT.md §4 alias; issue #12).
//
// A customer that merges another one (alias, identify with both ids) waits
// for the other customer's state; while it waits it handles nothing else.
// Two such waits pointing at each other (b waits for a while a waits for b,
// or any longer cycle) would never end, so every wait is registered here
// first and a wait that would close a cycle is refused: that merge is nacked
// with "retry" and, sent again after the other merge committed, finds both
// ids resolved to one customer. Waits form a forest, so each one ends.
//
// Owned by the node (NodeContext), shared by every customer actor; thread
// safe (one mutex, held for a walk of at most size() waits). Holds one entry
// per merge in flight, so it is bounded by the live customers.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "waymark/result.hpp"

namespace waymark {

class MergeWaits {
public:
  /// Registers that customer `into` waits for the state of `from`. Returns a
  /// ticket for end(), or an error: "alias_cycle" when `from` already waits,
  /// directly or through others, for `into` (the message names the cycle);
  /// "merge_in_flight" when `into` already waits for a customer.
  Result<uint64_t> begin(const std::string& into, const std::string& from);
  /// Ends the wait of `into` registered with `ticket` (a stale ticket: no-op).
  void end(const std::string& into, uint64_t ticket);
  /// True while `into` waits for the state of `from` (a merge across owners
  /// asks whether one is still in flight: actors/cluster_merge.cpp).
  bool waiting(const std::string& into, const std::string& from) const;
  size_t size() const;

private:
  struct Wait {
    std::string from;
    uint64_t ticket = 0;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Wait> waits_;  // into -> the customer it waits for
  uint64_t next_ticket_ = 1;
};

}  // namespace waymark
