#include "actors/http_ops.hpp"

#include "actors/http_cluster.hpp"

#include "actors/messages.hpp"
#include "waymark/json.hpp"
#include "waymark/ops.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

using http::Access;
using http::Params;
using http::Request;
using http::Responder;
using http::Response;

/// Audit entries scanned per page at most (a page with a journey filter may
/// come back short, with a "next" to go on from).
constexpr size_t kAuditScanMax = 10000;

std::optional<int> version_param(const std::string& s) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  int v = std::stoi(s);
  return v >= 1 ? std::optional<int>(v) : std::nullopt;
}

json::object parse_record(const std::string& raw) {
  std::error_code ec;
  auto v = parse_stored_json(raw, ec);
  return !ec && v.is_object() ? v.get_object() : json::object();
}

json::object version_view(const JourneyEntry& entry, int v, const json::object& record) {
  json::object o{{"version", v}, {"status", version_status(v, entry.live_version(), record)}};
  for (const char* key : {"author", "created_at", "live_at", "approver"})
    o[key] = record.contains(key) ? record.at(key) : json::value(nullptr);
  return o;
}

/// The journey `id` of the current catalog, or answers 404.
const JourneyEntry* find_journey(const Catalog& cat, const std::string& id, Responder& respond) {
  auto it = cat.journeys.find(id);
  if (it != cat.journeys.end())
    return &it->second;
  respond(http::error_response(404, "no journey '" + id + "'"));
  return nullptr;
}

void list_versions(NodeContext* ctx, const std::string& id, Responder respond) {
  auto cat = ctx->catalog.get();
  const JourneyEntry* entry = find_journey(*cat, id, respond);
  if (!entry)
    return;
  auto records = ctx->store->journey_versions(id);
  json::array versions;
  for (int v = 1; v <= static_cast<int>(entry->versions.size()); ++v) {
    auto it = records.find(v);
    versions.push_back(version_view(*entry, v, it == records.end() ? json::object() : parse_record(it->second)));
  }
  const int live = entry->live_version();
  respond(http::json_response(200, json::object{{"id", id},
                                                {"live", live > 0 ? json::value(live) : json::value(nullptr)},
                                                {"versions", std::move(versions)}}));
}

void show_version(NodeContext* ctx, const std::string& id, const std::string& version, Responder respond) {
  auto cat = ctx->catalog.get();
  const JourneyEntry* entry = find_journey(*cat, id, respond);
  if (!entry)
    return;
  auto v = version_param(version);
  if (!v)
    return respond(http::error_response(400, "version: a whole number from 1"));
  auto j = entry->version(*v);
  if (!j)
    return respond(http::error_response(404, "journey '" + id + "' has no version " + version));
  auto records = ctx->store->journey_versions(id);
  auto it = records.find(*v);
  auto view = version_view(*entry, *v, it == records.end() ? json::object() : parse_record(it->second));
  auto live = entry->latest();
  view["id"] = id;
  view["live"] = live ? json::value(live->version) : json::value(nullptr);
  view["definition"] = j->source;
  view["diff"] = step_diff(live ? live->source : json::object(), j->source);
  respond(http::json_response(200, view));
}

void get_audit(NodeContext* ctx, const Request& req, Responder respond) {
  auto q = parse_audit_query(req.query);
  if (!q)
    return respond(http::error_response(400, q.error().message));
  // `to` is inclusive; the store's bound is not.
  const Millis to = q->to < kTimeMax ? q->to + 1 : kTimeMax + 1;
  auto page = ctx->store->audit(q->from, to, q->after, q->limit, kAuditScanMax,
                                [&](const std::string& e) { return audit_keeps(*q, e); });
  json::array entries;
  for (auto& raw : page.entries) {
    std::error_code ec;
    auto v = parse_stored_json(raw, ec);
    if (!ec)
      entries.push_back(std::move(v));
  }
  respond(http::json_response(200, json::object{{"entries", std::move(entries)},
                                                {"next", page.next.empty() ? json::value(nullptr) : json::value(page.next)}}));
}

/// Who the caller is (PRODUCT.md §11): the console hides what the role may
/// not do. With no admin tokens configured (loopback only) it is "anonymous",
/// an admin.
Response whoami(const Request& req) {
  json::array teams;
  for (const auto& t : req.caller.teams)
    teams.emplace_back(t);
  return http::json_response(200, json::object{{"name", req.caller.name},
                                               {"role", to_string(req.caller.role)},
                                               {"teams", std::move(teams)}});
}

}  // namespace

http::Responder count_forbidden(NodeContext* ctx, http::Responder respond) {
  return [ctx, respond](Response r) {
    if (r.status == 403)
      ctx->metrics.http_forbidden.fetch_add(1, std::memory_order_relaxed);
    respond(std::move(r));
  };
}

void add_ops_routes(http::Router& router, caf::actor_system& sys, NodeContext* ctx) {
  auto* sysp = &sys;
  // In a cluster the catalog leader keeps the versions' records and the
  // catalog's audit entries: other members relay these to it.
  router.add("GET", "/api/journeys/{id}/versions", Access::viewer, [=](Request&& req, const Params& p, Responder r) {
    if (!relay_to_leader(*sysp, ctx, req, r))
      list_versions(ctx, p.at("id"), r);
  });
  router.add("GET", "/api/journeys/{id}/versions/{v}", Access::viewer,
             [=](Request&& req, const Params& p, Responder r) {
               if (!relay_to_leader(*sysp, ctx, req, r))
                 show_version(ctx, p.at("id"), p.at("v"), r);
             });
  router.add("POST", "/api/journeys/{id}/versions/{v}/approve", Access::approver,
             [=](Request&& req, const Params& p, Responder r) {
               if (relay_to_leader(*sysp, ctx, req, r))
                 return;
               auto v = version_param(p.at("v"));
               if (!v)
                 return r(http::error_response(400, "version: a whole number from 1"));
               auto respond = count_forbidden(ctx, r);
               auto who = req.caller;
               auto id = p.at("id");
               sysp->spawn([=](caf::event_based_actor* self) {
                 self->request(ctx->catalog_actor, std::chrono::seconds(60), approve_atom::value, id, *v, who)
                   .then(
                     [=](int status, const std::string& body) {
                       Response res;
                       res.status = status;
                       res.body = body;
                       respond(std::move(res));
                     },
                     [=](caf::error& err) { respond(http::error_response(503, self->system().render(err))); });
               });
             });
  router.add("GET", "/api/whoami", Access::viewer,
             [](Request&& req, const Params&, Responder r) { r(whoami(req)); });
  router.add("GET", "/api/audit", Access::viewer, [=](Request&& req, const Params&, Responder r) {
    if (!relay_to_leader(*sysp, ctx, req, r))
      get_audit(ctx, req, r);
  });
}

}  // namespace waymark
