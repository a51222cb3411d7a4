// Engagement feedback over HTTP (PRODUCT.md §10):
//   GET  /r/{delivery}/{n}/{sig}          open: a tracked link in a message.
//        302 to the target the template named for that delivery, after
//        recording "Message Clicked" (url_index n); 404 and nothing recorded
//        when the delivery, n or the signature do not match.
//   POST /api/deliveries/{id}/events      write key: a provider's callback
//        {"type":"opened|clicked|bounced|complained|unsubscribed"} records
//        "Message <Type>" once per (delivery, type); 200 {"success":true}.
// Every event takes the ingest path (router -> journey manager -> customer
// actor -> store); answers come after its commit.
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"
#include "http/router.hpp"

namespace waymark {

void add_engagement_routes(http::Router& router, caf::actor_system& sys, NodeContext* ctx);

/// Sends `e` to its customer like an ingested event and calls `done` with 0
/// after its commit, or with an HTTP status and reason when it was nacked or
/// not committed within 30 s. `settles`: a meta name deleted in that commit
/// (EventMsg::settles). Used by the routes and actors/status_events.cpp.
void record_event(caf::actor_system& sys, NodeContext* ctx, Event e,
                  std::function<void(int status, const std::string& why)> done, std::string settles = {});

}  // namespace waymark
