// Outcome routes (PRODUCT.md §10): experiment results per journey,
// attribution, customer value and CLV, warehouse export. Reads only: every
// figure comes from records and counters committed with the inputs that
// caused them (include/waymark/store.hpp, src/store/store_outcomes.inc);
// the figures are computed by the pure code of include/waymark/outcomes/.
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"
#include "http/router.hpp"

namespace waymark {

void add_outcomes_routes(http::Router& router, caf::actor_system& sys, NodeContext* ctx);

/// Fits the lifetime-value model once a day (PRODUCT.md §10: "on POST
/// /api/clv/fit (and daily)"): an actor wakes every 24 h and runs the fit on a
/// blocking actor of its own;
/// a fit refused for too few repeat buyers is logged at debug level.
void start_daily_clv_fit(caf::actor_system& sys, NodeContext* ctx);

/// The customer view's "value": {"realized","conversions","first","last","predicted"}
/// (predicted null before a CLV fit, and for a customer without a purchase).
boost::json::object customer_value_json(NodeContext* ctx, const std::string& customer);

}  // namespace waymark
