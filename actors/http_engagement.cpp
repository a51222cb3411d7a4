#include "actors/http_engagement.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "actors/messages.hpp"
#include "waymark/engagement.hpp"
#include "waymark/json.hpp"
#include "waymark/links.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

using http::Params;
using http::Request;
using http::Responder;

constexpr auto record_timeout = std::chrono::seconds(30);
constexpr size_t index_digits_max = 6;
constexpr size_t delivery_id_bytes_max = 128;

using Done = std::function<void(int status, const std::string& why)>;

/// Stands in for a connection for one event: routes it, waits for its ack.
caf::behavior record_actor(caf::event_based_actor* self, NodeContext* ctx, Event e, Done done, std::string settles) {
  ctx->metrics.events_received.fetch_add(1, std::memory_order_relaxed);
  EventMsg m;
  m.ack = AckTarget{caf::actor_cast<caf::actor>(self), 1};
  m.settles = std::move(settles);
  auto& target = ctx->router.route(e.customer_key());
  m.event = std::move(e);
  self->send(target, event_atom::value, std::move(m));
  self->delayed_send(self, record_timeout, tick_atom::value);
  auto finish = [=](int status, const std::string& why) {
    done(status, why);
    self->quit();
  };
  return {
      [=](acked_atom, const AckBatch&) {
        ctx->metrics.events_acked.fetch_add(1, std::memory_order_relaxed);
        finish(0, "");
      },
      [=](nacked_atom, const NackBatch& n) {
        finish(n.retry ? 503 : 500, n.lines.empty() ? "retry" : n.lines.front().second);
      },
      [=](tick_atom) { finish(503, "no commit within 30 s; retry"); },
  };
}

/// The delivery record of `id`, or nullopt (unknown, erased or unreadable).
std::optional<engagement::DeliveryInfo> find_delivery(NodeContext* ctx, const std::string& id) {
  if (id.empty() || id.size() > delivery_id_bytes_max)
    return std::nullopt;
  auto record = ctx->store->delivery_status(id);
  if (!record)
    return std::nullopt;
  auto info = engagement::delivery_info(id, *record);
  if (!info)
    return std::nullopt;
  return std::move(*info);
}

std::optional<size_t> parse_index(const std::string& text) {
  if (text.empty() || text.size() > index_digits_max || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return static_cast<size_t>(std::stoul(text));
}

void follow_link(caf::actor_system& sys, NodeContext* ctx, const Params& p, Responder respond) {
  auto refuse = [&] {
    ctx->metrics.links_refused.fetch_add(1, std::memory_order_relaxed);
    respond(http::error_response(404, "unknown or tampered link"));
  };
  auto n = parse_index(p.at("n"));
  auto d = find_delivery(ctx, p.at("delivery"));
  if (!n || !d || *n >= d->links.size() ||
      !links::verify(ctx->config.http_link_secret, d->id, *n, d->links[*n], p.at("sig")))
    return refuse();
  ctx->metrics.links_followed.fetch_add(1, std::memory_order_relaxed);
  const std::string target = d->links[*n];
  // The reader reaches the page even when the click cannot be recorded now.
  record_event(sys, ctx, engagement::reaction_event(*d, "clicked", ctx->clock->now(), *n),
               [respond, target, id = d->id](int status, const std::string& why) {
                 if (status != 0)
                   spdlog::warn("[engagement] click on {} not recorded: {} {}", id, status, why);
                 http::Response r;
                 r.status = 302;
                 r.content_type = "text/plain";
                 r.headers.emplace_back("Location", target);
                 r.headers.emplace_back("Cache-Control", "no-store");
                 respond(std::move(r));
               });
}

void delivery_callback(caf::actor_system& sys, NodeContext* ctx, const Request& req, const std::string& id,
                       Responder respond) {
  auto refuse = [&](int status, const std::string& reason, std::string message) {
    ctx->metrics.nack(reason);
    respond(http::error_response(status, std::move(message)));
  };
  if (ctx->input_budget.exhausted()) {
    ctx->metrics.nack("overloaded");
    auto r = http::error_response(503, "node overloaded: over limits.node_unacked_bytes_max; retry");
    r.headers.emplace_back("Retry-After", "1");
    return respond(std::move(r));
  }
  auto body = parse_input_json(req.body, ctx->config.limits.json_depth_max);
  if (!body)
    return refuse(400, "http_invalid", body.error().message);
  const json::object* o = body->if_object();
  const json::value* type = o ? o->if_contains("type") : nullptr;
  if (!type || !type->is_string() || !engagement::is_callback_type(type->get_string()))
    return refuse(400, "http_invalid", "type must be one of opened, clicked, bounced, complained, unsubscribed");
  if (o->size() != 1)
    return refuse(400, "http_invalid", "the body has only \"type\"");
  auto d = find_delivery(ctx, id);
  if (!d)
    return refuse(404, "unknown_delivery", "unknown delivery '" + id.substr(0, delivery_id_bytes_max) + "'");
  record_event(sys, ctx, engagement::reaction_event(*d, std::string(type->get_string()), ctx->clock->now()),
               [respond](int status, const std::string& why) {
                 if (status == 0)
                   return respond(http::json_response(200, json::object{{"success", true}}));
                 auto r = http::error_response(status, why);
                 if (status == 503)
                   r.headers.emplace_back("Retry-After", "1");
                 respond(std::move(r));
               });
}

}  // namespace

void record_event(caf::actor_system& sys, NodeContext* ctx, Event e, Done done, std::string settles) {
  sys.spawn(record_actor, ctx, std::move(e), std::move(done), std::move(settles));
}

void add_engagement_routes(http::Router& router, caf::actor_system& sys, NodeContext* ctx) {
  auto* sysp = &sys;
  router.add("GET", "/r/{delivery}/{n}/{sig}", http::Access::open,
             [=](Request&&, const Params& p, Responder r) { follow_link(*sysp, ctx, p, std::move(r)); });
  router.add("POST", "/api/deliveries/{id}/events", http::Access::write_key,
             [=](Request&& req, const Params& p, Responder r) {
               delivery_callback(*sysp, ctx, req, p.at("id"), std::move(r));
             });
}

}  // namespace waymark
