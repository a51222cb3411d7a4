#include "actors/http_ingest.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "actors/messages.hpp"
#include "waymark/json.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

using http::Params;
using http::Request;
using http::Responder;

constexpr auto ingest_timeout = std::chrono::seconds(30);

struct Rejection {
  int status;
  std::string message;
};

/// Validates one item; `where` prefixes the message ("batch[3]: ...").
std::optional<Rejection> validate_item(const json::value& item, const std::string& where, std::string_view type,
                                       NodeContext* ctx, std::vector<Event>& out) {
  auto size = json::serialize(item).size();
  if (size > ctx->config.limits.event_bytes_max)
    return Rejection{413, where + "event is " + std::to_string(size) + " bytes, over limits.event_bytes_max (" +
                            std::to_string(ctx->config.limits.event_bytes_max) + ")"};
  auto ev = event_from_json(item, ctx->clock->now(), type);
  if (!ev)
    return Rejection{400, where + ev.error().message};
  out.push_back(std::move(*ev));
  return std::nullopt;
}

/// Parses and validates the whole body before anything is sent on.
std::optional<Rejection> parse_body(const Request& req, std::string_view type, NodeContext* ctx,
                                    std::vector<Event>& events) {
  if (req.body.size() > ctx->config.limits.request_bytes_max)
    return Rejection{413, "request body over limits.request_bytes_max"};
  auto parsed = parse_input_json(req.body, ctx->config.limits.json_depth_max);
  if (!parsed)
    return Rejection{400, parsed.error().message};
  auto& v = *parsed;
  if (!v.is_object())
    return Rejection{400, "the body must be a JSON object"};
  auto& o = v.get_object();
  if (type != "batch")
    return validate_item(v, "", type, ctx, events);
  auto* batch = o.if_contains("batch");
  if (!batch || !batch->is_array())
    return Rejection{400, "batch must be an array of events"};
  if (batch->get_array().empty())
    return Rejection{400, "batch is empty"};
  size_t i = 0;
  for (auto& item : batch->get_array()) {
    if (auto r = validate_item(item, "batch[" + std::to_string(i) + "]: ", {}, ctx, events))
      return r;
    ++i;
  }
  return std::nullopt;
}

struct ingest_state {
  size_t expected = 0;
  size_t acked = 0;
  bool answered = false;
  InputBudget* budget = nullptr;  // the request's body bytes are held against it until the actor ends
  uint64_t budget_bytes = 0;
  static constexpr const char* name = "http_ingest";
  ingest_state() = default;
  ingest_state(const ingest_state&) = delete;
  ingest_state& operator=(const ingest_state&) = delete;
  ~ingest_state() {
    if (budget)
      budget->give_back(budget_bytes);
  }
};

/// Stands in for a TCP connection: sends the events, answers after the acks.
caf::behavior ingest_actor(caf::stateful_actor<ingest_state>* self, NodeContext* ctx, std::vector<Event> events,
                           uint64_t body_bytes, Responder respond) {
  auto& st = self->state;
  st.expected = events.size();
  st.budget = &ctx->input_budget;
  st.budget_bytes = body_bytes;
  ctx->input_budget.take(body_bytes);
  auto me = caf::actor_cast<caf::actor>(self);
  uint64_t line = 0;
  for (auto& e : events) {
    ctx->metrics.events_received.fetch_add(1, std::memory_order_relaxed);
    EventMsg m;
    m.ack = AckTarget{me, ++line};
    auto& mgr = ctx->router.route(e.customer_key());
    m.event = std::move(e);
    self->send(mgr, event_atom::value, std::move(m));
  }
  auto finish = [=](http::Response r) {
    if (self->state.answered)
      return;
    self->state.answered = true;
    respond(std::move(r));
    self->quit();
  };
  self->delayed_send(self, ingest_timeout, tick_atom::value);
  return {
    [=](acked_atom, const AckBatch& a) {
      ctx->metrics.events_acked.fetch_add(a.lines.size(), std::memory_order_relaxed);
      self->state.acked += a.lines.size();
      if (self->state.acked >= self->state.expected)
        finish(http::json_response(200, json::object{{"success", true}}));
    },
    [=](nacked_atom, const NackBatch& n) {
      // Validation happened before: a transient failure (503) or a customer
      // whose stored state is unreadable (500, retrying cannot help).
      std::string why = n.lines.empty() ? "retry" : n.lines.front().second;
      auto r = http::error_response(n.retry ? 503 : 500, why);
      if (n.retry)  // e.g. a restarting customer, or (cluster) an owner that is down
        r.headers.emplace_back("Retry-After", "1");
      finish(std::move(r));
    },
    [=](tick_atom) { finish(http::error_response(503, "no commit within 30 s; retry")); },
  };
}

void ingest(caf::actor_system& sys, NodeContext* ctx, Request&& req, std::string type, Responder respond) {
  if (ctx->input_budget.exhausted()) {  // PRODUCT.md §8: the node's unacked input is bounded
    ctx->metrics.nack("overloaded");
    auto resp = http::error_response(503, "node overloaded: over limits.node_unacked_bytes_max; retry");
    resp.headers.emplace_back("Retry-After", "1");
    respond(std::move(resp));
    return;
  }
  std::vector<Event> events;
  if (auto r = parse_body(req, type, ctx, events)) {
    ctx->metrics.nack(r->status == 413 ? "http_too_large" : "http_invalid");
    respond(http::error_response(r->status, r->message));
    return;
  }
  sys.spawn(ingest_actor, ctx, std::move(events), static_cast<uint64_t>(req.body.size()), std::move(respond));
}

}  // namespace

void add_ingest_routes(http::Router& router, caf::actor_system& sys, NodeContext* ctx) {
  auto* sysp = &sys;
  for (const char* type : {"track", "identify", "alias", "page", "screen", "group", "batch"}) {
    std::string t = type;
    router.add("POST", "/v1/" + t, http::Access::write_key, [=](Request&& req, const Params&, Responder r) {
      ingest(*sysp, ctx, std::move(req), t, std::move(r));
    });
  }
}

}  // namespace waymark
