#include "actors/http_api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <variant>

#include "actors/cluster_auth.hpp"
#include "actors/cluster_link.hpp"
#include "actors/http_cluster.hpp"
#include "actors/http_console.hpp"
#include "actors/http_engagement.hpp"
#include "actors/http_ingest.hpp"
#include "actors/http_ops.hpp"
#include "waymark/cluster_merge.hpp"
#include "actors/http_outcomes.hpp"
#include "actors/messages.hpp"
#include "waymark/journey_stats.hpp"
#include "waymark/json.hpp"
#include "waymark/ops.hpp"
#include "http/client.hpp"
#include "http/router.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

using http::Params;
using http::Request;
using http::Responder;
using http::Response;
using http::Access;

/// Sends a request from a throw-away actor and answers the HTTP request when
/// the reply (int status, string body) or an error arrives.
template <class... Ts>
void ask_status_body(caf::actor_system& sys, caf::actor dest, Responder respond, Ts... xs) {
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(dest, std::chrono::seconds(60), xs...)
      .then(
        [=](int status, const std::string& body) {
          Response r;
          r.status = status;
          r.body = body;
          respond(std::move(r));
        },
        [=](caf::error& err) { respond(http::error_response(503, self->system().render(err))); });
  });
}

json::object customer_view(NodeContext* ctx, const CustomerState& s) {
  json::object profile{{"traits", s.traits},
                       {"merged_ids", json::value_from(s.merged_ids)},
                       {"created_at", format_rfc3339(s.created_at)},
                       {"updated_at", format_rfc3339(s.updated_at)}};
  json::array instances;
  for (auto& in : s.instances) {
    json::object o{{"id", in.id},       {"journey", in.journey},
                   {"version", in.version}, {"step", in.step},
                   {"since", format_rfc3339(in.step_since)}, {"entered_at", format_rfc3339(in.entered_at)}};
    o["key"] = in.key ? json::value(*in.key) : json::value(nullptr);
    if (!in.timer_id.empty())
      o["waiting_until"] = format_rfc3339(in.timer_due);
    instances.push_back(std::move(o));
  }
  json::array history;
  for (auto& h : s.history)
    history.push_back(json::object{{"name", h.name}, {"at", format_rfc3339(h.at)}, {"properties", h.properties}});
  json::array deliveries;
  for (auto& d : s.deliveries) {
    json::object o{{"id", d.id}, {"channel", d.channel}, {"journey", d.journey}, {"step", d.step},
                   {"at", format_rfc3339(d.at)}};
    o["status"] = "unknown";
    if (auto st = ctx->store->delivery_status(d.id)) {
      std::error_code ec;
      auto v = parse_stored_json(*st, ec);
      if (!ec && v.is_object()) {
        if (auto* x = v.get_object().if_contains("status"))
          o["status"] = *x;
        if (auto* x = v.get_object().if_contains("attempts"))
          o["attempts"] = *x;
        if (auto* x = v.get_object().if_contains("detail"))
          o["detail"] = *x;
      }
    }
    deliveries.push_back(std::move(o));
  }
  json::array trace;
  for (auto& t : s.trace)
    trace.push_back(json::object{{"at", format_rfc3339(t.at)}, {"trigger", t.trigger}, {"journey", t.journey},
                                 {"version", t.version},       {"step", t.step},       {"what", t.what}});
  return json::object{{"id", s.id},           {"profile", profile}, {"instances", instances},
                      {"history", history},   {"deliveries", deliveries}, {"trace", trace}};
}

/// A customer's current state document ("" = unknown), asked of its manager:
/// a live customer's state may be ahead of the stored snapshot (input log).
void read_customer(caf::actor_system* sys, NodeContext* ctx, const std::string& key,
                   std::function<void(caf::expected<std::string>)> done) {
  sys->spawn([=](caf::event_based_actor* self) {
    self->request(ctx->router.route(key), std::chrono::seconds(30), state_atom::value, key)
      .then([=](std::string& raw) { done(std::move(raw)); }, [=](caf::error& err) { done(std::move(err)); });
  });
}

void get_customer(caf::actor_system* sys, NodeContext* ctx, const std::string& id, Responder respond) {
  std::string key = id;
  if (auto alias = ctx->store->resolve_alias(id))
    key = *alias;
  read_customer(sys, ctx, key, [=](caf::expected<std::string> raw) {
    if (!raw)
      return respond(raw.error() == caf::sec::invalid_argument
                       ? http::error_response(500, "stored state of '" + id + "' is unreadable")
                       : http::error_response(503, "customer '" + id + "' busy; retry"));
    if (raw->empty())
      return respond(http::error_response(404, "no customer '" + id + "'"));
    std::error_code ec;
    auto v = parse_stored_json(*raw, ec);
    auto s = ec ? Result<CustomerState>(make_error("bad_json", "")) : customer_from_json(v);
    if (!s)
      return respond(http::error_response(500, "stored state of '" + id + "' is unreadable"));
    auto view = customer_view(ctx, *s);
    view["value"] = customer_value_json(ctx, s->id);
    if (ctx->view) {
      view["owner"] = ctx->config.cluster_listen;
      view["partition"] = ctx->router.partition_of(s->id);
    }
    respond(http::json_response(200, std::move(view)));
  });
}

/// Journey counters per journey id (Store::journey_stats), this node's plus, in
/// a cluster, every member's (summed: PRODUCT.md §9 "stats summed").
using CountersById = std::map<std::string, std::map<std::string, int64_t>>;

CountersById local_counters(NodeContext* ctx, const std::string& only) {
  CountersById out;
  auto cat = ctx->catalog.get();
  for (auto& [id, entry] : cat->journeys)
    if (only.empty() || id == only) out[id] = ctx->store->journey_stats(id);
  return out;
}

/// GET /api/internal/journey-counters[?journey=ID]: what a peer sums (relayed calls only).
json::object counters_body(const CountersById& counters) {
  json::object o;
  for (auto& [id, c] : counters)
    o[id] = cluster::counters_json(c);
  return json::object{{"journeys", std::move(o)}};
}

void gather_counters(caf::actor_system& sys, NodeContext* ctx, const Request& req, const std::string& only,
                     std::function<void(CountersById)> done) {
  auto local = local_counters(ctx, only);
  if (!ctx->view || req.internal)
    return done(std::move(local));
  Request call;
  call.method = "GET";
  call.target = "/api/internal/journey-counters" + (only.empty() ? "" : "?journey=" + http::percent_encode(only));
  call_peers(sys, ctx, call, std::chrono::seconds(10), [=](std::map<std::string, Response> replies) mutable {
    for (auto& [address, r] : replies) {
      std::error_code ec;
      auto v = parse_stored_json(r.body, ec);
      if (r.status != 200 || ec || !v.is_object() || !v.get_object().contains("journeys")) {
        spdlog::warn("[cluster] journey counters of {}: status {}", address, r.status);
        continue;
      }
      for (auto& [id, part] : v.at("journeys").as_object())
        cluster::add_counters(local[std::string(id)], part);
    }
    done(std::move(local));
  });
}

json::object journey_stats(const CountersById& counters, const std::string& id, int versions) {
  auto it = counters.find(id);
  return journey_stats_json(it == counters.end() ? std::map<std::string, int64_t>{} : it->second, versions);
}

void list_journeys(NodeContext* ctx, const CountersById& counters, Responder respond) {
  auto cat = ctx->catalog.get();
  json::array arr;
  for (auto& [id, entry] : cat->journeys) {
    auto latest = entry.latest();
    auto stats = journey_stats(counters, id, static_cast<int>(entry.versions.size()));
    arr.push_back(json::object{{"id", id},
                               {"version", entry.live_version()},
                               {"latest", static_cast<int>(entry.versions.size())},
                               {"status", to_string(entry.status)},
                               {"name", latest ? latest->name : ""},
                               {"stats", json::object{{"entered", stats["entered"]}, {"active", stats["active"]}}}});
  }
  respond(http::json_response(200, json::object{{"journeys", arr}}));
}

void get_journey(NodeContext* ctx, const CountersById& counters, const std::string& id, Responder respond) {
  auto cat = ctx->catalog.get();
  auto it = cat->journeys.find(id);
  if (it == cat->journeys.end())
    return respond(http::error_response(404, "no journey '" + id + "'"));
  json::array versions;
  for (size_t i = 1; i <= it->second.versions.size(); ++i)
    versions.push_back(static_cast<int64_t>(i));
  auto latest = it->second.latest();
  respond(http::json_response(
    200, json::object{{"id", id},
                      {"version", it->second.live_version()},
                      {"latest", static_cast<int>(it->second.versions.size())},
                      {"status", to_string(it->second.status)},
                      {"definition", latest ? json::value(latest->source) : json::value(nullptr)},
                      {"versions", versions},
                      {"stats", journey_stats(counters, id, static_cast<int>(it->second.versions.size()))}}));
}

/// Transport-level refusals (http::server_stats) by reason.
std::vector<std::pair<std::string, uint64_t>> http_refusals() {
  auto& hs = http::server_stats();
  return {{"body_too_large", hs.refused_body_too_large.load()},
          {"header_too_large", hs.refused_header_too_large.load()},
          {"malformed", hs.refused_malformed.load()},
          {"busy", hs.refused_busy.load()}};
}

/// Connections closed by a time or count bound (PRODUCT.md §8), by edge and reason.
std::vector<std::tuple<const char*, const char*, uint64_t>> connections_closed(NodeContext* ctx) {
  auto& hs = http::server_stats();
  auto& m = ctx->metrics;
  return {{"tcp", "idle", m.tcp_closed_idle.load()},
          {"tcp", "incomplete", m.tcp_closed_incomplete.load()},
          {"tcp", "evicted", m.tcp_closed_evicted.load()},
          {"http", "idle", hs.closed_idle.load()},
          {"http", "incomplete", hs.closed_slow.load()},
          {"http", "evicted", hs.closed_evicted.load()}};
}

json::object connections_closed_json(NodeContext* ctx) {
  json::object out;
  for (auto& [edge, reason, n] : connections_closed(ctx))
    out[std::string(edge) + "_" + reason] = n;
  return out;
}

json::object stats_json(NodeContext* ctx) {
  auto& m = ctx->metrics;
  json::object outbox;
  for (auto& [name, ch] : ctx->config.channels)
    outbox[name] = ctx->store->outbox_depth(name);
  json::object nacks;
  for (auto& [reason, n] : m.nack_counts())
    nacks[reason] = n;
  json::object http_refused;
  for (auto& [reason, n] : http_refusals())
    http_refused[reason] = n;
  return json::object{{"now", format_rfc3339(ctx->clock->now())},
                      {"clock", ctx->clock->manual() ? "manual" : "system"},
                      {"events_received", m.events_received.load()},
                      {"events_acked", m.events_acked.load()},
                      {"http_unauthorized", m.http_unauthorized.load()},
                      {"http_forbidden", m.http_forbidden.load()},
                      {"events_nacked", m.events_nacked.load()},
                      {"events_nacked_by_reason", nacks},
                      {"events_deduplicated", m.events_deduplicated.load()},
                      {"commits", m.commits.load()},
                      {"commit_failures", m.commit_failures.load()},
                      {"customers_live", m.customers_live.load()},
                      {"customers_known", ctx->store->customer_count()},
                      {"customers_passivated", m.customers_passivated.load()},
                      {"customers_restarted", m.customers_restarted.load()},
                      {"customers_unreadable", m.customers_unreadable.load()},
                      {"log_records", ctx->store->log_records()},
                      {"timers_pending", ctx->store->timer_count()},
                      {"timers_fired", m.timers_fired.load()},
                      {"deliveries_written", m.deliveries_written.load()},
                      {"deliveries_failed", m.deliveries_failed.load()},
                      {"deliveries_dropped", m.deliveries_dropped.load()},
                      {"outbox_pending", ctx->store->outbox_entries()},
                      {"status_events_owed", ctx->store->meta_count(std::string("status_event") + '\0')},
                      {"touches", ctx->store->outcome_count(Store::OutcomeKind::touch)},
                      {"conversions", ctx->store->outcome_count(Store::OutcomeKind::conversion)},
                      {"outbox_depth", outbox},
                      {"connections_open", m.connections_open.load()},
                      {"http_connections_open", http::server_stats().connections_open.load()},
                      {"connections_closed", connections_closed_json(ctx)},
                      {"input_unacked_bytes", ctx->input_budget.used()},
                      {"input_unacked_bytes_peak", ctx->input_budget.peak()},
                      {"connections_paused_node", m.connections_paused_node.load()},
                      {"http_refused", http_refused}};
}

std::string metrics_text(NodeContext* ctx) {
  auto& m = ctx->metrics;
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v, const char* type = "counter") {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(v) + "\n";
  };
  counter("waymark_events_received_total", "Events read and valid.", m.events_received.load());
  counter("waymark_events_acked_total", "Events acknowledged after commit.", m.events_acked.load());
  out += "# HELP waymark_events_nacked_total Lines rejected, by reason.\n# TYPE waymark_events_nacked_total counter\n";
  for (auto& [reason, n] : m.nack_counts())
    out += "waymark_events_nacked_total{reason=\"" + reason + "\"} " + std::to_string(n) + "\n";
  counter("waymark_events_deduplicated_total", "Events dropped as repeats of a messageId.", m.events_deduplicated.load());
  counter("waymark_commits_total", "LMDB group commits.", m.commits.load());
  counter("waymark_commit_events_total", "Customer writes committed.", m.commit_events.load());
  counter("waymark_commit_failures_total", "Failed commits.", m.commit_failures.load());
  auto histogram = [&](const char* name, const char* help, const auto& h) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
    uint64_t cum = 0;
    for (size_t i = 0; i < h.bounds.size(); ++i) {
      cum += h.counts[i].load();
      char le[32];
      std::snprintf(le, sizeof le, "%g", h.bounds[i]);
      out += std::string(name) + "_bucket{le=\"" + std::string(le) + "\"} " + std::to_string(cum) + "\n";
    }
    cum += h.counts[h.bounds.size()].load();
    out += std::string(name) + "_bucket{le=\"+Inf\"} " + std::to_string(cum) + "\n";
    char sum[32];
    std::snprintf(sum, sizeof sum, "%.9g", h.sum.load());
    out += std::string(name) + "_sum " + sum + "\n";
    out += std::string(name) + "_count " + std::to_string(h.count.load()) + "\n";
  };
  histogram("waymark_commit_batch_writes", "Customer writes per LMDB transaction (group commit).", m.commit_batch);
  histogram("waymark_commit_duration_seconds", "Duration of one LMDB group commit, fsync included.",
            m.commit_seconds);
  counter("waymark_customers_live", "Live customer actors.", m.customers_live.load(), "gauge");
  auto known = ctx->store->customer_count();
  auto live = m.customers_live.load();
  counter("waymark_customers_known", "Customers stored (canonical ids).", known, "gauge");
  counter("waymark_customers_passive", "Stored customers without a live actor (passivated or never loaded).",
          known > live ? known - live : 0, "gauge");
  counter("waymark_customers_passivated_total", "Customer actors passivated.", m.customers_passivated.load());
  counter("waymark_customers_restarted_total", "Customer actors restarted after a crash.", m.customers_restarted.load());
  counter("waymark_customers_unreadable_total", "Customer actors whose stored state could not be read (events refused).",
          m.customers_unreadable.load());
  counter("waymark_log_records", "Inputs in the input log (replayed after a crash; trimmed behind snapshots).",
          ctx->store->log_records(), "gauge");
  counter("waymark_timers_pending", "Durable timers waiting.", ctx->store->timer_count(), "gauge");
  counter("waymark_timers_fired_total", "Timers fired.", m.timers_fired.load());
  counter("waymark_deliveries_written_total", "Deliveries handed to providers.", m.deliveries_written.load());
  counter("waymark_deliveries_failed_total", "Deliveries that failed.", m.deliveries_failed.load());
  counter("waymark_outbox_pending", "Committed deliveries without a final outcome yet (incl. waiting retries).",
          ctx->store->outbox_entries(), "gauge");
  counter("waymark_deliveries_dropped_total",
          "Deliveries held by a gateway when their customer was erased: dropped, not sent.",
          m.deliveries_dropped.load());
  counter("waymark_deliveries_retried_total", "Delivery attempts that ended in retry-later.", m.deliveries_retried.load());
  counter("waymark_deliveries_dead_total", "Deliveries dead-lettered after attempts_max.", m.deliveries_dead.load());
  out += "# HELP waymark_deliveries_total Final delivery outcomes by channel and status.\n"
         "# TYPE waymark_deliveries_total counter\n";
  for (auto& [key, n] : m.delivery_counts())
    out += "waymark_deliveries_total{channel=\"" + key.first + "\",status=\"" + key.second + "\"} " +
           std::to_string(n) + "\n";
  out += "# HELP waymark_outbox_depth Outbox entries per channel.\n# TYPE waymark_outbox_depth gauge\n";
  for (auto& [name, ch] : ctx->config.channels)
    out += "waymark_outbox_depth{channel=\"" + name + "\"} " + std::to_string(ctx->store->outbox_depth(name)) + "\n";
  counter("waymark_links_followed_total", "Tracked links answered with a redirect.", m.links_followed.load());
  counter("waymark_links_refused_total", "Tracked links refused (404): unknown delivery or link, bad signature.",
          m.links_refused.load());
  counter("waymark_http_unauthorized_total", "Admin API requests refused for a missing or wrong token.",
          m.http_unauthorized.load());
  counter("waymark_http_forbidden_total", "Admin API requests refused because the token's role or team is not enough.",
          m.http_forbidden.load());
  counter("waymark_outcome_requests_refused_total",
          "Outcome requests (results, attribution, CLV, export) refused for bad input.",
          m.outcome_requests_refused.load());
  counter("waymark_connections_open", "Open TCP connections.", m.connections_open.load(), "gauge");
  if (ctx->config.clustered())
    counter("waymark_cluster_members_up", "Cluster members with a live link, this node included.",
            m.cluster_peers_up.load() + 1, "gauge");
  if (ctx->config.clustered()) {
    counter("waymark_cluster_handoffs_total", "Partitions this node handed to their new owner (member list changed).",
            m.cluster_handoffs_out.load());
    counter("waymark_cluster_handoff_records_sent_total", "Records sent to new owners in hand-offs.",
            m.cluster_handoff_records_out.load());
    counter("waymark_cluster_handoff_records_received_total", "Records taken in from hand-offs.",
            m.cluster_handoff_records_in.load());
    out += "# HELP waymark_cluster_refused_total Cluster links and messages refused, by reason.\n"
           "# TYPE waymark_cluster_refused_total counter\n";
    for (auto& [reason, n] : cluster_refusals())
      out += "waymark_cluster_refused_total{reason=\"" + reason + "\"} " + std::to_string(n) + "\n";
  }
  auto& hs = http::server_stats();
  counter("waymark_http_connections_open", "Open HTTP connections.", hs.connections_open.load(), "gauge");
  out += "# HELP waymark_http_refused_total HTTP requests refused by the transport before any handler ran.\n"
         "# TYPE waymark_http_refused_total counter\n";
  for (auto& [reason, n] : http_refusals())
    out += "waymark_http_refused_total{reason=\"" + reason + "\"} " + std::to_string(n) + "\n";
  counter("waymark_connections_paused_total", "Times a connection stopped reading (window full).",
          m.connections_paused.load());
  counter("waymark_connections_paused_node_total",
          "Times a connection stopped reading because the node's unacked input reached limits.node_unacked_bytes_max.",
          m.connections_paused_node.load());
  counter("waymark_input_unacked_bytes", "Input read on all connections and not yet acked.", ctx->input_budget.used(),
          "gauge");
  out += "# HELP waymark_connections_closed_total Connections closed by a time or count bound, by edge and reason.\n"
         "# TYPE waymark_connections_closed_total counter\n";
  for (auto& [edge, reason, n] : connections_closed(ctx))
    out += std::string("waymark_connections_closed_total{edge=\"") + edge + "\",reason=\"" + reason + "\"} " +
           std::to_string(n) + "\n";
  return out;
}

/// Commits an audit entry (of a change that is no single commit: the clock),
/// then answers `answer`.
void record_audit(caf::actor_system& sys, NodeContext* ctx, AuditPut entry, Response answer, Responder respond) {
  Batch b;
  b.audit.push_back(std::move(entry));
  auto store = ctx->store_actor;
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(store, std::chrono::seconds(30), batch_atom::value, b)
      .then([=](bool) { respond(answer); },
            [=](caf::error& err) { respond(http::error_response(503, "audit: " + self->system().render(err))); });
  });
}

/// The instant a POST /api/clock body asks for, or the 400 answer.
std::variant<Millis, Response> clock_target(NodeContext* ctx, const std::string& body, bool internal) {
  const char* usage = "expected {\"advance\":\"2d\"} or {\"set\":\"<RFC 3339>\"}";
  auto v = parse_input_json(body, ctx->config.limits.json_depth_max);
  if (!v || !v->is_object())
    return http::error_response(400, usage);
  auto& o = v->get_object();
  if (auto* a = o.if_contains("advance"); a && a->is_string()) {
    auto d = parse_duration(std::string(a->get_string()));
    if (!d)
      return http::error_response(400, "advance: bad duration (use 30s, 15m, 2h, 3d, 1w)");
    auto t = add_time(ctx->clock->now(), *d);
    if (!t)
      return http::error_response(400, "advance: the clock would pass 9999-12-31T23:59:59.999Z");
    return *t;
  }
  if (auto* s = o.if_contains("set"); s && s->is_string()) {
    auto t = parse_rfc3339(std::string(s->get_string()));
    if (!t)
      return http::error_response(400, "set: not an RFC 3339 date-time within years 0001-9999 (as UTC)");
    if (*t < ctx->clock->now()) {
      if (internal)  // a cluster peer moved the clock to where this node already is
        return ctx->clock->now();
      return http::error_response(400, "set: the clock cannot go backwards");
    }
    return *t;
  }
  return http::error_response(400, usage);
}

/// Moves this node's clock to `target` and answers once its due timers fired.
void advance_local(caf::actor_system& sys, NodeContext* ctx, Millis target, std::function<void(Response)> done) {
  auto ts = ctx->timer_service;
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(ts, std::chrono::seconds(120), advance_atom::value, static_cast<int64_t>(target))
      .then([=](int64_t now) { done(http::json_response(200, json::object{{"now", format_rfc3339(now)}})); },
            [=](caf::error& err) { done(http::error_response(503, self->system().render(err))); });
  });
}

/// POST /api/clock. In a cluster it moves every member to the same instant
/// and answers after each fired its due timers (PRODUCT.md §9); a member down
/// makes it 503 (sent again, it moves only the members still behind). The
/// member the client called records it in its audit log.
void post_clock(caf::actor_system& sys, NodeContext* ctx, const Request& req, Responder respond) {
  if (!ctx->clock->manual())
    return respond(http::error_response(409, "the node runs on the system clock (start it with --clock manual)"));
  auto target = clock_target(ctx, req.body, req.internal);
  if (auto* refusal = std::get_if<Response>(&target))
    return respond(std::move(*refusal));
  Millis t = std::get<Millis>(target);
  const Millis before = ctx->clock->now();
  auto who = req.caller;
  auto* sysp = &sys;
  auto audited = [=](Response answer) {
    if (answer.status != 200)
      return respond(answer);
    auto entry = audit_entry(ctx->clock->now(), who, "clock", "clock", json::string(format_rfc3339(before)),
                             json::string(format_rfc3339(ctx->clock->now())));
    record_audit(*sysp, ctx, std::move(entry), std::move(answer), respond);
  };
  if (req.internal)
    return advance_local(sys, ctx, t, respond);
  if (!ctx->view)
    return advance_local(sys, ctx, t, audited);
  Request call;
  call.method = "POST";
  call.target = "/api/clock";
  call.body = json::serialize(json::object{{"set", format_rfc3339(t)}});
  call.caller = req.caller;
  advance_local(sys, ctx, t, [=](Response mine) {
    call_peers(*sysp, ctx, call, std::chrono::seconds(120), [=](std::map<std::string, Response> replies) {
      std::string failed;
      for (auto& [address, r] : replies)
        if (r.status != 200)
          failed += (failed.empty() ? "" : ", ") + address + " (" + std::to_string(r.status) + ")";
      if (mine.status != 200)
        return respond(mine);
      if (!failed.empty())
        return respond(http::error_response(503, "the clock moved here but not on " + failed + "; retry"));
      audited(http::json_response(200, json::object{{"now", format_rfc3339(t)}}));
    });
  });
}

/// GET /api/stats: this node's figures; in a cluster the members' summed, with
/// each member's under "nodes" (a member down shows "up": false).
void get_stats(caf::actor_system& sys, NodeContext* ctx, const Request& req, Responder respond) {
  auto local = stats_json(ctx);
  if (!ctx->view || req.internal)
    return respond(http::json_response(200, local));
  Request call;
  call.method = "GET";
  call.target = "/api/stats";
  call_peers(sys, ctx, call, std::chrono::seconds(10), [=](std::map<std::string, Response> replies) {
    json::object total = local;
    json::object nodes;
    nodes[ctx->config.cluster_listen] = local;
    for (auto& [address, r] : replies) {
      std::error_code ec;
      auto v = parse_stored_json(r.body, ec);
      if (r.status == 200 && !ec && v.is_object()) {
        cluster::add_numbers(total, v.get_object());
        nodes[address] = std::move(v);
      } else {
        nodes[address] = json::object{{"up", false}, {"status", r.status}};
      }
    }
    total["nodes"] = std::move(nodes);
    respond(http::json_response(200, std::move(total)));
  });
}

}  // namespace

/// GET /api/cluster (PRODUCT.md §9): members, up or not, and their partitions.
void get_cluster(caf::actor_system& sys, NodeContext* ctx, Responder respond) {
  auto as_json = [](const std::string& text) {
    Response r;
    r.body = text;
    return r;
  };
  if (!ctx->cluster)
    return respond(as_json(single_node_cluster_json(*ctx)));
  auto link = ctx->cluster;
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(link, std::chrono::seconds(5), caf::get_atom::value)
      .then([=](const std::string& text) { respond(as_json(text)); },
            [=](caf::error& err) { respond(http::error_response(503, self->system().render(err))); });
  });
}

/// Authorises on the matched route's class and counts refusals: admin ones in
/// waymark_http_unauthorized_total (401) or waymark_http_forbidden_total (403:
/// the token's role is below the route's), ingest ones as nacks. On success
/// req.caller is who called (PRODUCT.md §11).
static http::Router::Authorizer authorizer(NodeContext* ctx) {
  http::Credentials creds{ctx->config.admin_tokens, ctx->config.write_keys, ctx->config.limits.json_depth_max,
                          ctx->config.admins};
  return [ctx, creds](Access access, Request& req) -> std::optional<Response> {
    if (req.internal)  // relayed by a cluster peer that authorised it (caller set there: actors/http_cluster.hpp)
      return std::nullopt;
    auto refusal = http::authorize(access, req, creds, &req.caller);
    if (refusal && refusal->status == 403)
      ctx->metrics.http_forbidden.fetch_add(1, std::memory_order_relaxed);
    if (refusal && refusal->status == 401 && http::role_needed(access))
      ctx->metrics.http_unauthorized.fetch_add(1, std::memory_order_relaxed);
    if (refusal && access == Access::write_key)
      ctx->metrics.nack("http_unauthorized");
    return refusal;
  };
}

http::Handler make_http_api(caf::actor_system& sys, NodeContext* ctx) {
  auto router = std::make_shared<http::Router>(authorizer(ctx));
  auto* sysp = &sys;
  router->add("GET", "/healthz", Access::open, [](Request&&, const Params&, Responder r) {
    r(http::json_response(200, json::object{{"status", "ok"}}));
  });
  // Catalog changes are numbered by the catalog leader (PRODUCT.md §9): a
  // member that is not the leader relays them to it (the caller goes along).
  auto at_leader = [=](const Request& req, Responder& r) { return relay_to_leader(*sysp, ctx, req, r); };
  router->add("PUT", "/api/journeys/{id}", Access::editor, [=](Request&& req, const Params& p, Responder r) {
    if (!at_leader(req, r))
      ask_status_body(*sysp, ctx->catalog_actor, r, deploy_atom::value, p.at("id"), req.body, req.caller);
  });
  router->add("GET", "/api/journeys", Access::viewer, [=](Request&& req, const Params&, Responder r) {
    gather_counters(*sysp, ctx, req, "", [=](CountersById c) { list_journeys(ctx, c, r); });
  });
  router->add("GET", "/api/journeys/{id}", Access::viewer, [=](Request&& req, const Params& p, Responder r) {
    auto id = p.at("id");
    gather_counters(*sysp, ctx, req, id, [=](CountersById c) { get_journey(ctx, c, id, r); });
  });
  router->add("GET", "/api/internal/journey-counters", Access::viewer, [=](Request&& req, const Params&, Responder r) {
    if (!req.internal)
      return r(http::error_response(404, "no route"));
    auto it = req.query.find("journey");
    r(http::json_response(200, counters_body(local_counters(ctx, it == req.query.end() ? "" : it->second))));
  });
  for (auto [verb, status] : {std::pair<const char*, const char*>{"pause", "paused"},
                              {"resume", "active"},
                              {"archive", "archived"}}) {
    std::string st = status, action = verb;
    router->add("POST", std::string("/api/journeys/{id}/") + verb, Access::approver,
                [=](Request&& req, const Params& p, Responder r) {
                  if (!at_leader(req, r))
                    ask_status_body(*sysp, ctx->catalog_actor, r, status_atom::value, p.at("id"), st, action,
                                    req.caller);
                });
  }
  router->add("PUT", "/api/templates/{id}", Access::editor, [=](Request&& req, const Params& p, Responder r) {
    if (!at_leader(req, r))
      ask_status_body(*sysp, ctx->catalog_actor, count_forbidden(ctx, r), template_atom::value, p.at("id"), req.body,
                      req.caller);
  });
  router->add("GET", "/api/templates", Access::viewer, [=](Request&&, const Params&, Responder r) {
    json::array arr;
    for (auto& [id, t] : ctx->catalog.get()->templates)
      arr.push_back(t->source);
    r(http::json_response(200, json::object{{"templates", arr}}));
  });
  // A customer's reads and erasure run at its partition's owner.
  auto at_owner = [=](const Request& req, const std::string& id, Responder& r) {
    if (!ctx->view)
      return false;
    auto owner = owner_of_key(*ctx, id);
    if (owner == ctx->config.cluster_listen) {
      if (ctx->ownership.ready(ctx->router.partition_of(id)))
        return false;
      r(http::error_response(503, "the partition of '" + id + "' is being handed to this node; retry"));
      return true;
    }
    if (req.internal)
      return false;
    proxy_to(*sysp, ctx, owner, req, r, std::chrono::seconds(120));
    return true;
  };
  // An id merged into a customer of another owner (actors/cluster_merge.cpp):
  // the request runs there, for the merged customer (`suffix`: after the id).
  // A chain of such merges is followed for a few hops (`alias_hops`), never in circles.
  auto at_merged_owner = [=](const Request& req, const std::string& id, const std::string& suffix, Responder& r) {
    auto canonical = ctx->view ? ctx->store->resolve_alias(id) : std::nullopt;
    if (!canonical || owner_of_key(*ctx, *canonical) == ctx->config.cluster_listen)
      return false;
    auto hops = req.query.count("alias_hops") ? std::atoi(req.query.at("alias_hops").c_str()) : 0;
    if (hops >= 4) {
      r(http::error_response(500, "alias chain of '" + id + "' across members longer than 4"));
      return true;
    }
    Request there = req;
    there.path = "/api/customers/" + http::percent_encode(*canonical) + suffix;
    there.target = there.path + "?alias_hops=" + std::to_string(hops + 1);
    proxy_to(*sysp, ctx, owner_of_key(*ctx, *canonical), there, r, std::chrono::seconds(120));
    return true;
  };
  router->add("GET", "/api/customers/{id}", Access::viewer, [=](Request&& req, const Params& p, Responder r) {
    if (!at_owner(req, p.at("id"), r) && !at_merged_owner(req, p.at("id"), "", r))
      get_customer(sysp, ctx, p.at("id"), r);
  });
  router->add("POST", "/api/clock", Access::admin,
              [=](Request&& req, const Params&, Responder r) { post_clock(*sysp, ctx, req, r); });
  router->add("GET", "/api/cluster", Access::admin, [=](Request&&, const Params&, Responder r) {
    get_cluster(*sysp, ctx, r);
  });
  router->add("GET", "/api/stats", Access::viewer,
              [=](Request&& req, const Params&, Responder r) { get_stats(*sysp, ctx, req, r); });
  router->add("GET", "/api/customers/{id}/inbox", Access::viewer, [=](Request&& req, const Params& p, Responder r) {
    auto id = p.at("id");
    if (at_owner(req, id, r) || at_merged_owner(req, id, "/inbox", r))
      return;
    if (auto canonical = ctx->store->resolve_alias(id))
      id = *canonical;
    json::array items;
    for (auto& raw : ctx->store->inbox_list(id)) {
      std::error_code ec;
      auto v = parse_stored_json(raw, ec);
      if (!ec)
        items.push_back(std::move(v));
    }
    r(http::json_response(200, json::object{{"customer", id}, {"messages", std::move(items)}}));
  });
  router->add("DELETE", "/api/customers/{id}", Access::admin, [=](Request&& req, const Params& p, Responder r) {
    auto id = p.at("id");
    if (at_owner(req, id, r) || at_merged_owner(req, id, "", r))
      return;
    auto who = req.caller;
    if (auto canonical = ctx->store->resolve_alias(id))
      id = *canonical;
    // Known = a stored state, a live actor or logged inputs; an unreadable
    // state (the read fails) can be erased too.
    read_customer(sysp, ctx, id, [=](caf::expected<std::string> raw) {
      if (raw && raw->empty()) {
        r(http::error_response(404, "no customer " + id));
        return;
      }
      sysp->spawn([=](caf::event_based_actor* self) {
        // The erasure is recorded (the id, nothing of the profile) in its own transaction.
        auto entry = audit_entry(ctx->clock->now(), who, "erase", "customer:" + id, nullptr, nullptr);
        self->request(ctx->router.route(id), std::chrono::seconds(120), erase_atom::value, id,
                      static_cast<int64_t>(entry.at), entry.json)
          .then([=](uint64_t n) { r(http::json_response(200, json::object{{"erased", id}, {"entries", n}})); },
                [=](caf::error& err) { r(http::error_response(503, self->system().render(err))); });
      });
    });
  });
  add_ingest_routes(*router, sys, ctx);
  add_console_routes(*router);
  add_ops_routes(*router, sys, ctx);
  add_engagement_routes(*router, sys, ctx);
  add_outcomes_routes(*router, sys, ctx);
  router->add("GET", "/metrics", Access::open, [=](Request&&, const Params&, Responder r) {
    Response resp;
    resp.content_type = "text/plain; version=0.0.4";
    resp.body = metrics_text(ctx);
    r(std::move(resp));
  });
  return [router](Request&& req, Responder respond) { (*router)(std::move(req), std::move(respond)); };
}

}  // namespace waymark
