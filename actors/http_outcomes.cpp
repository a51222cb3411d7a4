#include "actors/http_outcomes.hpp"

#include <spdlog/spdlog.h>

#include "waymark/outcomes/attribution_stream.hpp"
#include "waymark/outcomes/records.hpp"
#include "waymark/outcomes/results.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

using http::Access;
using http::Params;
using http::Request;
using http::Responder;

/// Answers a bad request (counted in waymark_outcome_requests_refused_total).
void refuse(NodeContext* ctx, const Responder& r, int status, const std::string& message) {
  ctx->metrics.outcome_requests_refused.fetch_add(1, std::memory_order_relaxed);
  r(http::error_response(status, message));
}

/// A whole number in [lo, hi], else nullopt.
std::optional<int64_t> whole(const std::string& text, int64_t lo, int64_t hi) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const int64_t n = std::stoll(text);
  return n >= lo && n <= hi ? std::optional<int64_t>(n) : std::nullopt;
}

/// Holdout and split variants of the versions asked for (0 = all), latest first.
outcomes::ResultsShape results_shape(const JourneyEntry& entry, int version) {
  outcomes::ResultsShape shape;
  for (auto it = entry.versions.rbegin(); it != entry.versions.rend(); ++it) {
    const Journey& j = **it;
    if (version != 0 && j.version != version)
      continue;
    shape.holdout = shape.holdout || j.holdout_percent > 0;
    for (const auto& [id, step] : j.steps) {
      if (step.type != StepType::split)
        continue;
      auto known = std::find_if(shape.splits.begin(), shape.splits.end(), [&](auto& s) { return s.first == id; });
      if (known == shape.splits.end())
        known = shape.splits.insert(shape.splits.end(), {id, {}});
      for (const auto& v : step.variants)
        if (std::find(known->second.begin(), known->second.end(), v.name) == known->second.end())
          known->second.push_back(v.name);
    }
  }
  return shape;
}

void get_results(NodeContext* ctx, const std::string& id, const Request& req, Responder r) {
  CatalogPtr cat = ctx->catalog.get();
  auto it = cat->journeys.find(id);
  if (it == cat->journeys.end() || it->second.versions.empty())
    return refuse(ctx, r, 404, "no journey " + id);
  const int64_t latest = static_cast<int64_t>(it->second.versions.size());
  int version = 0;
  if (auto q = req.query.find("version"); q != req.query.end()) {
    auto v = whole(q->second, 1, latest);
    if (!v)
      return refuse(ctx, r, 400, "version must be a whole number from 1 to " + std::to_string(latest));
    version = static_cast<int>(*v);
  }
  std::vector<outcomes::ArmCounter> counters;
  for (auto& c : ctx->store->result_counters(id))
    counters.push_back(outcomes::ArmCounter{c.version, std::move(c.arm), std::move(c.counter), c.n});
  const auto shape = results_shape(it->second, version);
  json::object out{{"journey", id}};
  out["version"] = version ? json::value(version) : json::value(nullptr);
  out["arms"] = outcomes::arms_json(outcomes::sum_arms(counters, version, shape), shape);
  r(http::json_response(200, out));
}

// ---- attribution ----------------------------------------------------------------------

constexpr size_t kPage = 512;                   // records read per LMDB transaction
constexpr size_t kTouchesPerCustomerMax = 10000;  // touches read for one conversion's lookback

/// A duration query parameter (default when absent), or an error message.
Result<Millis> duration_param(const Request& req, const char* name, Millis fallback) {
  auto it = req.query.find(name);
  if (it == req.query.end())
    return fallback;
  auto d = parse_duration(it->second);
  if (!d)
    return make_error("bad_request", std::string(name) + " must be a duration like 30d, 12h or 1w; got '" +
                                         it->second + "'");
  return *d;
}

/// A required RFC 3339 query parameter, or an error message.
Result<Millis> time_param(const Request& req, const char* name) {
  auto it = req.query.find(name);
  if (it == req.query.end())
    return make_error("bad_request", std::string("missing ") + name + " (RFC 3339, e.g. 2026-11-01T00:00:00Z)");
  auto t = parse_rfc3339(it->second);
  if (!t)
    return make_error("bad_request", std::string(name) + " must be an RFC 3339 time; got '" + it->second + "'");
  return *t;
}

Result<outcomes::AttributionQuery> attribution_query(const Request& req) {
  outcomes::AttributionQuery q;
  auto model = req.query.count("model") ? outcomes::parse_model(req.query.at("model")) : std::nullopt;
  if (!model)
    return make_error("bad_request", "model must be one of first, last, linear, time_decay, position, markov");
  q.model = *model;
  auto by = outcomes::parse_group_by(req.query.count("by") ? req.query.at("by") : "channel");
  if (!by)
    return make_error("bad_request", "by must be one of journey, channel, step, template");
  q.by = *by;
  auto from = time_param(req, "from");
  auto to = from ? time_param(req, "to") : from;
  if (!to)
    return to.error();
  if (*from >= *to)
    return make_error("bad_request", "from must be before to");
  q.from = *from;
  q.to = *to;
  auto lookback = duration_param(req, "lookback", q.lookback);
  if (!lookback)
    return lookback.error();
  auto half_life = duration_param(req, "half_life", q.half_life);
  if (!half_life)
    return half_life.error();
  q.lookback = *lookback;
  q.half_life = *half_life;
  return q;
}

std::vector<outcomes::Touch> touches_of(const Store& store, const std::string& customer, Millis from, Millis to) {
  std::vector<outcomes::Touch> out;
  for (auto& raw : store.customer_outcomes(customer, Store::OutcomeKind::touch, from, to, kTouchesPerCustomerMax))
    if (auto t = outcomes::touch_from_json(raw))
      out.push_back(std::move(*t));
  return out;
}

/// Feeds this node's records to `stream`: every conversion in [from, to)
/// with its customer's touches in its lookback, page by page; for markov
/// also the customers with touches and no conversion in the range.
void accumulate(const Store& store, outcomes::AttributionStream& stream) {
  const auto& q = stream.query();
  std::string after;
  do {
    OutcomePage page = store.outcome_page(Store::OutcomeKind::conversion, q.from, q.to, after, kPage);
    for (auto& raw : page.records)
      if (auto c = outcomes::conversion_from_json(raw))
        stream.add_conversion(*c, touches_of(store, c->customer, c->at - q.lookback, c->at));
    after = page.next;
  } while (!after.empty());
  if (q.model != outcomes::Model::markov)
    return;
  std::string customer;
  while (true) {
    auto customers = store.outcome_customers(customer, kPage);
    for (auto& c : customers)
      if (store.customer_outcomes(c, Store::OutcomeKind::conversion, q.from, q.to, 1).empty())
        stream.add_non_converting(touches_of(store, c, q.to - q.lookback, q.to));
    if (customers.size() < kPage)
      break;
    customer = customers.back();
  }
}

json::object attribution_json(const Request& req, const outcomes::AttributionQuery& q,
                              const outcomes::AttributionReport& report) {
  json::array groups;
  for (const auto& g : report.groups)
    groups.push_back(json::object{{"group", g.group}, {"conversions", g.conversions}, {"value", g.value}});
  return json::object{{"model", req.query.at("model")},
                      {"by", req.query.count("by") ? req.query.at("by") : "channel"},
                      {"from", format_rfc3339(q.from)},
                      {"to", format_rfc3339(q.to)},
                      {"lookback_ms", q.lookback},
                      {"conversions", report.conversions},
                      {"unattributed", report.unattributed},
                      {"groups", std::move(groups)}};
}

void get_attribution(caf::actor_system& sys, NodeContext* ctx, const Request& req, Responder r) {
  auto q = attribution_query(req);
  if (!q) {
    return refuse(ctx, r, 400, q.error().message);
  }
  // The reads may take a while over a long range: off the HTTP thread.
  sys.spawn([=, q = *q](caf::blocking_actor*) {
    outcomes::AttributionStream stream(q);
    accumulate(*ctx->store, stream);
    auto report = stream.report();
    if (!report)
      return refuse(ctx, r, 400, report.error().message);
    r(http::json_response(200, attribution_json(req, q, *report)));
  });
}

}  // namespace

void add_outcomes_routes(http::Router& router, caf::actor_system& sys, NodeContext* ctx) {
  auto* sysp = &sys;
  router.add("GET", "/api/attribution", Access::admin,
             [=](Request&& req, const Params&, Responder r) { get_attribution(*sysp, ctx, req, r); });
  router.add("GET", "/api/journeys/{id}/results", Access::admin,
             [=](Request&& req, const Params& p, Responder r) { get_results(ctx, p.at("id"), req, r); });
}

}  // namespace waymark
