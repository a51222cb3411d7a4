// When an event forwarded to its partition's owner (PRODUCT.md §9) is given
// up on and nacked with "retry". Pure; used by actors/cluster_forward.cpp.
#pragma once

#include <cstdint>

namespace waymark::cluster {

/// A live owner under load queues events longer than a round trip: timing
/// each event from when it was forwarded nacked events a busy but healthy
/// owner was about to commit (bench/README.md, "Cluster"). So an event is late
/// once it has waited `timeout_ms` and the owner has also answered nothing
/// (no ack or nack of any event) for `timeout_ms`: an owner that is down or
/// unreachable is noticed within the timeout, a busy one is waited for. An
/// event unanswered for `kForwardWaitFactor` timeouts is late whatever the
/// owner does. Times in ms of one steady clock.
constexpr int64_t kForwardWaitFactor = 10;

inline bool forward_late(int64_t sent_ms, int64_t last_answer_ms, int64_t now_ms, int64_t timeout_ms) {
  const int64_t waited = now_ms - sent_ms;
  if (waited >= kForwardWaitFactor * timeout_ms)
    return true;
  return waited >= timeout_ms && now_ms - last_answer_ms >= timeout_ms;
}

}  // namespace waymark::cluster
