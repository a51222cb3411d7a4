#include "actors/http_outcomes.hpp"

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "waymark/json.hpp"
#include "waymark/outcomes/attribution_stream.hpp"
#include "waymark/outcomes/clv_report.hpp"
#include "waymark/outcomes/records.hpp"
#include "waymark/outcomes/results.hpp"
#include "waymark/journey_results.hpp"
#include "actors/http_cluster.hpp"
#include "waymark/cluster_merge.hpp"
#include "http/client.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

using http::Access;
using http::Params;
using http::Request;
using http::Responder;

json::value parse_stored_json_object(const std::string& text) {
  std::error_code ec;
  auto v = parse_stored_json(text, ec);
  return ec ? json::value(json::object{}) : v;
}

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


/// This node's experiment counters of a journey as JSON (what a cluster member
/// sums: GET /api/internal/result-counters, relayed calls only).
json::array counters_json(NodeContext* ctx, const std::string& id) {
  json::array out;
  for (auto& c : ctx->store->result_counters(id))
    out.push_back(json::array{c.version, json::string(c.arm), json::string(c.counter), c.n});
  return out;
}

/// Adds counters made by counters_json; false when `v` is not such an array.
bool add_counters(std::vector<outcomes::ArmCounter>& out, const json::value& v) {
  if (!v.is_array())
    return false;
  for (auto& c : v.get_array()) {
    auto* a = c.if_array();
    if (!a || a->size() != 4 || !(*a)[0].is_int64() || !(*a)[1].is_string() || !(*a)[2].is_string() ||
        !(*a)[3].is_int64())
      return false;
    out.push_back(outcomes::ArmCounter{static_cast<int>((*a)[0].get_int64()), std::string((*a)[1].get_string()),
                                       std::string((*a)[2].get_string()), (*a)[3].get_int64()});
  }
  return true;
}

void answer_results(const std::string& id, const JourneyEntry& entry, int version,
                    const std::vector<outcomes::ArmCounter>& counters, Responder r) {
  const auto shape = results_shape(entry, version);
  json::object out{{"journey", id}};
  out["version"] = version ? json::value(version) : json::value(nullptr);
  out["arms"] = outcomes::arms_json(outcomes::sum_arms(counters, version, shape), shape);
  r(http::json_response(200, out));
}

/// GET /api/journeys/{id}/results; in a cluster the members' counters are
/// summed (each customer is counted at its owner only).
void get_results(caf::actor_system& sys, NodeContext* ctx, const std::string& id, const Request& req, Responder r) {
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
  add_counters(counters, counters_json(ctx, id));
  auto entry = it->second;
  if (!ctx->view || req.internal)
    return answer_results(id, entry, version, counters, r);
  Request call;
  call.method = "GET";
  call.target = "/api/internal/result-counters?journey=" + http::percent_encode(id);
  call_peers(sys, ctx, call, std::chrono::seconds(10), [=](std::map<std::string, http::Response> replies) mutable {
    for (auto& [address, reply] : replies) {
      std::error_code ec;
      auto v = parse_stored_json(reply.body, ec);
      if (reply.status != 200 || ec || !add_counters(counters, v))
        return r(http::error_response(503, "cluster member " + address + " did not answer its counters; retry"));
    }
    answer_results(id, entry, version, counters, r);
  });
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
  const bool across = ctx->view && !req.internal;
  if (across && req.query.at("model") == "markov")  // the shares need the members' summed transition counts
    return r(http::error_response(501, "markov attribution across cluster members is not built yet; the other "
                                       "models answer for the whole cluster"));
  auto* sysp = &sys;
  sys.spawn([=, q = *q](caf::blocking_actor*) {
    outcomes::AttributionStream stream(q);
    accumulate(*ctx->store, stream);
    auto report = stream.report();
    if (!report)
      return refuse(ctx, r, 400, report.error().message);
    auto mine = attribution_json(req, q, *report);
    if (!across)
      return r(http::json_response(200, mine));
    // Credits are per conversion and a customer's records are at its owner:
    // the members' answers add up group by group.
    Request call;
    call.method = "GET";
    call.target = req.target;
    call_peers(*sysp, ctx, call, std::chrono::seconds(60), [=](std::map<std::string, http::Response> replies) mutable {
      for (auto& [address, reply] : replies) {
        std::error_code ec;
        auto v = parse_stored_json(reply.body, ec);
        if (reply.status != 200 || ec || !cluster::add_attribution(mine, v))
          return r(http::error_response(503, "cluster member " + address + " did not answer; retry"));
      }
      r(http::json_response(200, mine));
    });
  });
}

// ---- customer value and CLV --------------------------------------------------------------

constexpr size_t kConversionsPerCustomerMax = 100000;

std::vector<outcomes::Conversion> conversions_of(const Store& store, const std::string& customer, Millis to) {
  std::vector<outcomes::Conversion> out;
  for (auto& raw :
       store.customer_outcomes(customer, Store::OutcomeKind::conversion, kTimeMin, to, kConversionsPerCustomerMax))
    if (auto c = outcomes::conversion_from_json(raw))
      out.push_back(std::move(*c));
  return out;
}

double horizon_days(NodeContext* ctx) { return double(ctx->config.clv_horizon) / double(outcomes::kDay); }

/// Predicted value of a customer under `params`; nullopt without a purchase.
std::optional<double> predicted(NodeContext* ctx, const outcomes::ClvParams& params,
                                const std::vector<outcomes::Conversion>& conversions, Millis now) {
  auto summary = outcomes::summarize_purchases(conversions, now);
  if (!summary)
    return std::nullopt;
  auto v = outcomes::predicted_value(params, *summary, horizon_days(ctx));
  return v ? std::optional<double>(*v) : std::nullopt;
}

std::optional<outcomes::ClvParams> fitted_params(NodeContext* ctx) {
  auto raw = ctx->store->meta("clv_params");
  if (!raw)
    return std::nullopt;
  auto p = outcomes::clv_params_from_json(*raw);
  return p ? std::optional<outcomes::ClvParams>(*p) : std::nullopt;
}

/// Every customer with outcome records, page by page (bounded memory).
template <class F>
void for_each_customer(const Store& store, F&& f) {
  std::string after;
  while (true) {
    auto customers = store.outcome_customers(after, kPage);
    for (auto& c : customers)
      f(c);
    if (customers.size() < kPage)
      return;
    after = customers.back();
  }
}

/// POST /api/clv/fit: summaries of every customer's purchases up to now, the
/// maximum-likelihood fit, then the predicted value per journey; stored in meta.
void fit_clv(caf::blocking_actor* self, NodeContext* ctx, Responder r) {
  const Millis now = ctx->clock->now();
  std::vector<outcomes::CustomerSummary> summaries;  // 32 bytes per customer with a purchase
  for_each_customer(*ctx->store, [&](const std::string& c) {
    if (auto s = outcomes::summarize_purchases(conversions_of(*ctx->store, c, now + 1), now))
      summaries.push_back(*s);
  });
  auto params = outcomes::fit_clv(summaries);
  if (!params)
    return refuse(ctx, r, 422, params.error().message);
  outcomes::ClvByJourney by_journey;
  for_each_customer(*ctx->store, [&](const std::string& c) {
    if (auto v = predicted(ctx, *params, conversions_of(*ctx->store, c, now + 1), now))
      by_journey.add(touches_of(*ctx->store, c, kTimeMin, now + 1), *v);
  });
  json::object fit{{"fitted", true},
                   {"at", format_rfc3339(now)},
                   {"customers", summaries.size()},
                   {"horizon_days", horizon_days(ctx)},
                   {"params", parse_stored_json_object(outcomes::clv_params_json(*params))},
                   {"by_journey", by_journey.to_json()}};
  const std::string text = json::serialize(fit);
  Batch b;
  b.meta = {{"clv_params", outcomes::clv_params_json(*params)}, {"clv", text}};
  bool stored = false;
  self->request(ctx->store_actor, std::chrono::seconds(60), batch_atom::value, std::move(b))
    .receive([&](bool ok) { stored = ok; }, [&](caf::error&) { stored = false; });
  if (!stored)
    return r(http::error_response(503, "the fit could not be stored; retry"));
  http::Response ok;
  ok.body = text;  // byte for byte what GET /api/clv serves
  r(std::move(ok));
}

void get_clv(NodeContext* ctx, Responder r) {
  auto raw = ctx->store->meta("clv");
  if (!raw)
    return r(http::json_response(200, json::object{{"fitted", false}}));
  http::Response ok;
  ok.body = *raw;
  r(std::move(ok));
}

// ---- export ------------------------------------------------------------------------------

/// A delivery line: the touch's fields with the delivery's status record
/// ({"status","attempts","detail",...} as the store keeps it) under "delivery".
std::string delivery_line(const Store& store, const std::string& touch_json) {
  auto t = outcomes::touch_from_json(touch_json);
  if (!t)
    return "";
  json::object o{{"id", t->delivery_id}, {"customer", t->customer}, {"channel", t->channel},
                 {"journey", t->journey}, {"version", t->version},   {"step", t->step},
                 {"template", t->template_id}, {"variant", t->variant}, {"at", format_rfc3339(t->at)}};
  if (auto st = store.delivery_status(t->delivery_id)) {
    auto v = parse_stored_json_object(*st);
    if (v.is_object())
      for (const char* k : {"status", "attempts", "detail"})
        if (auto* x = v.get_object().if_contains(k))
          o[k] = *x;
  }
  return json::serialize(o);
}

/// GET /api/export/{touches|conversions|deliveries}?from&to: NDJSON, streamed
/// one page of records per chunk (deliveries: the touches of the range, each
/// with its delivery's current status).
void get_export(NodeContext* ctx, const std::string& kind, const Request& req, Responder r) {
  if (kind != "touches" && kind != "conversions" && kind != "deliveries")
    return refuse(ctx, r, 404, "no export '" + kind + "' (use touches, conversions or deliveries)");
  auto from = time_param(req, "from");
  auto to = from ? time_param(req, "to") : from;
  if (!to)
    return refuse(ctx, r, 400, to.error().message);
  if (*from >= *to)
    return refuse(ctx, r, 400, "from must be before to");
  const auto records = kind == "conversions" ? Store::OutcomeKind::conversion : Store::OutcomeKind::touch;
  const bool deliveries = kind == "deliveries";
  auto cursor = std::make_shared<std::string>();
  std::shared_ptr<Store> store = ctx->store;
  http::Response res;
  res.content_type = "application/x-ndjson";
  res.stream = [=, from = *from, to = *to](std::string& piece) {
    OutcomePage page = store->outcome_page(records, from, to, *cursor, kPage);
    for (auto& line : page.records) {
      const std::string out = deliveries ? delivery_line(*store, line) : line;
      if (!out.empty())
        piece.append(out).push_back('\n');
    }
    *cursor = page.next;
    return !cursor->empty();
  };
  r(std::move(res));
}

}  // namespace

json::object customer_value_json(NodeContext* ctx, const std::string& customer) {
  const Millis now = ctx->clock->now();
  auto conversions = conversions_of(*ctx->store, customer, kTimeMax);
  double realized = 0;
  for (auto& c : conversions)
    realized += c.value;
  json::object v{{"realized", realized}, {"conversions", conversions.size()}};
  v["first"] = conversions.empty() ? json::value(nullptr) : json::value(format_rfc3339(conversions.front().at));
  v["last"] = conversions.empty() ? json::value(nullptr) : json::value(format_rfc3339(conversions.back().at));
  auto params = fitted_params(ctx);
  auto p = params ? predicted(ctx, *params, conversions, now) : std::nullopt;
  v["predicted"] = p ? json::value(*p) : json::value(nullptr);
  return v;
}

void start_daily_clv_fit(caf::actor_system& sys, NodeContext* ctx) {
  using fit_atom = caf::atom_constant<caf::atom("clvfit")>;
  sys.spawn([ctx](caf::event_based_actor* self) -> caf::behavior {
    self->delayed_send(self, std::chrono::hours(24), fit_atom::value);
    return {
      [=](fit_atom) {
        self->system().spawn([ctx](caf::blocking_actor* fitter) {
          fit_clv(fitter, ctx, [](http::Response r) {
            if (r.status == 200)
              spdlog::info("[clv] daily fit stored");
            else
              spdlog::debug("[clv] daily fit: {} {}", r.status, r.body);
          });
        });
        self->delayed_send(self, std::chrono::hours(24), fit_atom::value);
      },
      [=](shutdown_atom) { self->quit(); },
    };
  });
}

void add_outcomes_routes(http::Router& router, caf::actor_system& sys, NodeContext* ctx) {
  auto* sysp = &sys;
  router.add("POST", "/api/clv/fit", Access::admin, [=](Request&&, const Params&, Responder r) {
    sysp->spawn([=](caf::blocking_actor* self) { fit_clv(self, ctx, r); });
  });
  router.add("GET", "/api/clv", Access::viewer, [=](Request&&, const Params&, Responder r) { get_clv(ctx, r); });
  router.add("GET", "/api/export/{kind}", Access::viewer, [=](Request&& req, const Params& p, Responder r) {
    get_export(ctx, p.at("kind"), req, r);
  });
  router.add("GET", "/api/attribution", Access::viewer,
             [=](Request&& req, const Params&, Responder r) { get_attribution(*sysp, ctx, req, r); });
  router.add("GET", "/api/journeys/{id}/results", Access::viewer, [=](Request&& req, const Params& p, Responder r) {
    get_results(*sysp, ctx, p.at("id"), req, r);
  });
  router.add("GET", "/api/internal/result-counters", Access::viewer, [=](Request&& req, const Params&, Responder r) {
    auto it = req.query.find("journey");
    if (!req.internal || it == req.query.end())
      return r(http::error_response(404, "no route"));
    r(http::json_response(200, counters_json(ctx, it->second)));
  });
}

}  // namespace waymark
