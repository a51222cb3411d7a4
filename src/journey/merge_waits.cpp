#include "waymark/merge_waits.hpp"

namespace waymark {

Result<uint64_t> MergeWaits::begin(const std::string& into, const std::string& from) {
  std::lock_guard<std::mutex> g(mu_);
  if (waits_.count(into))
    return make_error("merge_in_flight", into + " is already merging " + waits_.at(into).from);
  // Each customer waits for at most one other: follow the chain from `from`.
  // It ends within size() steps unless it meets `into` (the registered waits
  // never form a cycle themselves, so no other loop is possible).
  std::string path = into + " -> " + from;
  const std::string* at = &from;
  for (size_t steps = 0; steps <= waits_.size(); ++steps) {
    if (*at == into)
      return make_error("alias_cycle", "alias cycle: " + path + " (each would wait for the other's state)");
    auto next = waits_.find(*at);
    if (next == waits_.end())
      break;
    at = &next->second.from;
    path += " -> " + *at;
  }
  uint64_t ticket = next_ticket_++;
  waits_[into] = Wait{from, ticket};
  return ticket;
}

void MergeWaits::end(const std::string& into, uint64_t ticket) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = waits_.find(into);
  if (it != waits_.end() && it->second.ticket == ticket)
    waits_.erase(it);
}

bool MergeWaits::waiting(const std::string& into, const std::string& from) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = waits_.find(into);
  return it != waits_.end() && it->second.from == from;
}

size_t MergeWaits::size() const {
  std::lock_guard<std::mutex> g(mu_);
  return waits_.size();
}

}  // namespace waymark
