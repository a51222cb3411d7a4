// Segment-compatible HTTP ingest (PRODUCT.md §6): POST /v1/track, identify,
// alias, page, screen, group and batch.
//
// A request is validated completely first (a batch is all-or-nothing: one
// bad event rejects the request and nothing is stored), then every event
// takes exactly the TCP path: journey manager -> customer actor -> store
// actor, and the answer is 200 {"success":true} only after the group commit
// that covers the last of them. The acks come back to a short-lived ingest
// actor standing in for a TCP connection.
//
// Status codes: 400 invalid event (message names the batch index), 401 write
// key missing or unknown (when auth.write_keys is set; checked by the router
// before the body is validated), 413 an event over
// limits.event_bytes_max or a body over limits.request_bytes_max, 503 a
// customer was restarting or the node is busy (retry; nothing acknowledged).
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"
#include "http/router.hpp"

namespace waymark {

void add_ingest_routes(http::Router& router, caf::actor_system& sys, NodeContext* ctx);

}  // namespace waymark
