// A journey manager: one per partition. Routes events and timers to the
// customer actors of its partition, spawning (rehydrating from LMDB) on
// demand, passivating idle ones (and the least recently used past the live
// cap), and restarting crashed ones from their last committed state.
//
// Before a customer actor is replaced (passivation or crash), the manager
// sends a barrier through the store actor and queues that customer's
// messages until the barrier comes back: a new incarnation never reads LMDB
// while writes of the old one are still in the store's mailbox.
//
// Alias redirects (merged id -> canonical id) are set when a handover starts
// and dropped when it fails; an event follows at most kAliasRedirectsMax of
// them (messages.hpp), past that it is nacked (alias_loop) instead of circling.
//
// Messages:
//   (event_atom, EventMsg)                         from gateways / other managers
//   (timer_atom, TimerKey)                         from the timer service
//   (handover_atom, other, into) -> std::string    a customer merges `other` into `into`
//   (drained_atom, id, bool)                       barrier done (from the store actor)
//   (unalias_atom, id, into)                       the commit merging `id` into `into` failed (store actor)
//   (sweep_atom)                                   periodic passivation check
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

struct manager_state;
caf::behavior journey_manager(caf::stateful_actor<manager_state>* self, NodeContext* ctx, size_t partition);

// Spawns the actor (the state type stays private to the .cpp).
caf::actor spawn_journey_manager(caf::actor_system& sys, NodeContext* ctx, size_t partition);

}  // namespace waymark
