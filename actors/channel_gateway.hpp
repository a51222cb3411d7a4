// A channel gateway: one per configured channel, detached (its own thread),
// owning that channel's provider. It pulls committed deliveries from the
// durable outbox in seq order and holds at most a bounded window of them in
// memory (limits.delivery_batch_max + in_flight_max): a slow or failing
// provider grows only its own outbox on disk, never RAM, and never blocks
// ingestion or other channels (network providers run on their own libcurl
// thread, see src/channel/curl/).
//
// Per entry: at most in_flight_max attempts at once, started only when the
// token bucket (rate_per_s, burst) allows; transient failures retry with
// exponential backoff + jitter, never sooner than the provider's Retry-After;
// after attempts_max attempts the entry becomes a dead letter (status "dead").
// A retry's due time is stored on the node clock ("retry_at" in the delivery's
// status, in the commit that records the failed attempt): after a restart the
// retry waits for it (manual clock: until POST /api/clock reaches it).
// Erasure: before each attempt (and before a retry is queued) the entry must
// still be in the outbox; an erased customer's entries are dropped unsent
// (deliveries_dropped), and the store ignores outcomes of erased entries. Only
// an attempt already handed to the provider when the erase ran may arrive.
// The idempotency key is the record's id, so it is the same on every attempt
// and after a restart. Outcomes are recorded in the store (deliveries DB,
// outbox entry removed when final) with the provider's checkpoint in one
// commit, group-committed through the store actor.
//
// Messages:
//   (outbox_atom)          new entries were committed for this channel (from the store actor)
//   (tick_atom, int64_t)   a retry or a token became due (from itself)
//   (shutdown_atom)        stop the provider's threads and quit
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

struct gateway_state;
caf::behavior channel_gateway(caf::stateful_actor<gateway_state>* self, NodeContext* ctx, std::string channel);

// Spawns the actor (the state type stays private to the .cpp).
caf::actor spawn_channel_gateway(caf::actor_system& sys, NodeContext* ctx, std::string channel);

}  // namespace waymark
