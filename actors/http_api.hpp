// The HTTP API (PRODUCT.md §6) on top of src/http (Boost.Beast). Handlers run
// on the HTTP io thread and never block on actors: writes go through
// short-lived bridge actors that answer the Responder when the actor replies.
// Reads (customers, journeys, stats) read committed state from LMDB directly.
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"
#include "http/server.hpp"

namespace waymark {

http::Handler make_http_api(caf::actor_system& sys, NodeContext* ctx);

}  // namespace waymark
