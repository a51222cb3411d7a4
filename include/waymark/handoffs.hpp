// Customers being handed to another member by a merge across owners
// (PRODUCT.md §9 "alias across two owners"; actors/cluster_merge.cpp holds the
// protocol). At the node that owns the merged-away customer B, a mark
// "B is being handed to A" exists from just before B's final state leaves the
// node until the merge is finished (B erased, alias B -> A) or aborted (B is
// its own again). While B is marked its events are nacked with retry and its
// timers wait: nothing may change the state that was handed over.
//
// The marks are durable as one meta entry (Store meta "handoffs", the JSON
// object {"B":"A",...} written by encode()); this class is the node's
// in-memory copy, read by every journey manager on its hot path (one atomic
// load while no mark exists). Thread safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "waymark/result.hpp"

namespace waymark {

class Handoffs {
public:
  /// The customer `id` is handed to, when marked.
  std::optional<std::string> into(const std::string& id) const {
    if (count_.load(std::memory_order_acquire) == 0) return std::nullopt;
    std::lock_guard<std::mutex> g(mu_);
    auto it = marks_.find(id);
    if (it == marks_.end()) return std::nullopt;
    return it->second;
  }
  void set(const std::string& id, const std::string& into);
  void erase(const std::string& id);
  std::map<std::string, std::string> all() const;
  size_t size() const { return count_.load(std::memory_order_acquire); }

  /// The durable form of a set of marks, and back ("" reads as no marks). A
  /// text that is not an object of strings is an error naming what is wrong.
  static std::string encode(const std::map<std::string, std::string>& marks);
  static Result<std::map<std::string, std::string>> decode(const std::string& text);

private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> marks_;
  std::atomic<size_t> count_{0};
};

}  // namespace waymark
