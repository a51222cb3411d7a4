// A customer actor: one per live customer. Holds that customer's state, runs
// the pure engine (src/journey/engine.cpp) on each event and timer, and hands
// the resulting write to the store actor. It never touches another
// customer's state: merges (alias) ask the other customer's manager to hand
// the state over.
//
// Messages (all requests from the customer's journey manager):
//   (event_atom, EventMsg) -> bool       process one event; the ack is released by the store
//   (timer_atom, TimerKey) -> bool       a durable timer fired
//   (handover_atom) -> std::string       give up this customer's state (merge) and stop
//   (shutdown_atom)                      passivate: stop (state is already committed/committing)
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

struct customer_state_holder;
caf::behavior customer_actor(caf::stateful_actor<customer_state_holder>* self, NodeContext* ctx, std::string id);

// Spawns the actor (the state type stays private to the .cpp).
caf::actor spawn_customer(caf::event_based_actor* parent, NodeContext* ctx, std::string id);

}  // namespace waymark
