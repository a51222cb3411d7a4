// A channel gateway: one per configured channel, detached (providers may
// block). Pulls committed deliveries from the durable outbox in seq order, at
// most limits.delivery_batch_max at a time, hands them to the channel's
// provider, and records each outcome in the store before pulling more, so the
// outbox on disk — never RAM — absorbs a slow provider.
//
// Messages:
//   (outbox_atom)   new entries were committed for this channel (from the store actor)
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

struct gateway_state;
caf::behavior channel_gateway(caf::stateful_actor<gateway_state>* self, NodeContext* ctx, std::string channel);

// Spawns the actor (the state type stays private to the .cpp).
caf::actor spawn_channel_gateway(caf::actor_system& sys, NodeContext* ctx, std::string channel);

}  // namespace waymark
