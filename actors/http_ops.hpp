// Operations routes (PRODUCT.md §11): journey versions with approval and the
// audit log.
//
//   GET  /api/journeys/{id}/versions              viewer   every version: status, author, approver, times
//   GET  /api/journeys/{id}/versions/{v}          viewer   one, with its definition and a step diff to the live one
//   POST /api/journeys/{id}/versions/{v}/approve  approver a draft goes live (not by its author)
//   GET  /api/audit?from&to&journey&limit&after   viewer   the audit log, oldest first, paged
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"
#include "http/router.hpp"

namespace waymark {

void add_ops_routes(http::Router& router, caf::actor_system& sys, NodeContext* ctx);

/// `respond`, counting a 403 (a team or self-approval refusal decided past
/// the router) in waymark_http_forbidden_total.
http::Responder count_forbidden(NodeContext* ctx, http::Responder respond);

}  // namespace waymark
