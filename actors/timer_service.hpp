// The durable timer service. Timers live in LMDB (store "timers", ordered by
// due time); this actor only decides WHEN to look. It dispatches due timers to
// the owning customer's manager, keeps at most limits.timers_in_flight_max of
// them in flight, and forgets one when the store reports its key deleted (the
// customer's commit deletes the fired timer together with its effects).
//
// With the system clock it wakes at the earliest due time (capped at 1 s).
// With the manual clock (--clock manual) time moves only by
// (advance_atom, target) -> int64 now, which fires, in due order, every timer
// up to target and replies when all their effects are committed.
//
// Messages:
//   (wake_atom, min_due, deleted keys)   from the store actor after each commit
//   (advance_atom, int64 target_ms) -> int64    manual clock only
//   (tick_atom, generation)              internal wake-up
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

struct timer_state;
caf::behavior timer_service(caf::stateful_actor<timer_state>* self, NodeContext* ctx);

// Spawns the actor (the state type stays private to the .cpp).
caf::actor spawn_timer_service(caf::actor_system& sys, NodeContext* ctx);

}  // namespace waymark
