// Final delivery statuses as events (PRODUCT.md §10): every delivery that
// ends delivered, failed or dead is recorded as "Message Delivered" /
// "Message Failed" / "Message Dead" of its customer, through the ingest path,
// so journeys can wait_event on it.
//
// Exactly once across restarts: the store marks the event as owed (meta
// status_event\0<id>) in the transaction that records the final status; this
// actor sends each owed event to its customer, and the customer's commit of
// that event (or of its duplicate) deletes the mark in the same transaction
// (EventMsg::settles). A mark left by a stop or crash is sent again at the
// next start; the event's deterministic messageId ("waymark:<id>:<status>")
// is a second guard. Erasure removes the marks of the erased customer's
// deliveries; a mark whose delivery is gone is dropped.
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

/// Spawned before the channel gateways (they send it a tick_atom after
/// committing statuses); scans the owed events once started and on each tick
/// after that; stops on shutdown_atom.
caf::actor spawn_status_events(caf::actor_system& sys, NodeContext* ctx);
/// Once ctx->router is set: the first scan (marks left by the previous run).
void start_status_events(NodeContext* ctx);

}  // namespace waymark
