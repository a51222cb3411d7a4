// A customer actor: one per live customer. Holds that customer's state, runs
// the pure engine (src/journey/engine.cpp) on each event and timer, and hands
// the resulting write to the store actor. It never touches another
// customer's state: merges (alias) ask the other customer's manager to hand
// the state over. A merge whose wait would close a cycle of customers
// waiting for each other (NodeContext::merges, waymark/merge_waits.hpp) is
// nacked "alias cycle ...; retry" (counted as alias_cycle) instead of waiting.
//
// Messages (all requests from the customer's journey manager):
//   (event_atom, EventMsg) -> bool       process one event; the ack is released by the store
//   (timer_atom, TimerKey) -> bool       a durable timer fired
//   (handover_atom) -> std::string       give up this customer's state (merge) and stop
//   (shutdown_atom)                      passivate: stop (state is already committed/committing)
// A customer whose stored state is unreadable answers events and handovers
// with an error (kStateUnreadable) and never writes its state.
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

/// Error context (caf::sec::invalid_argument) and nack reason of a customer
/// whose stored state cannot be read back; its events are refused.
inline constexpr const char* kStateUnreadable = "customer_state_unreadable";

struct customer_state_holder;
caf::behavior customer_actor(caf::stateful_actor<customer_state_holder>* self, NodeContext* ctx, std::string id);

// Spawns the actor (the state type stays private to the .cpp).
caf::actor spawn_customer(caf::event_based_actor* parent, NodeContext* ctx, std::string id);

}  // namespace waymark
