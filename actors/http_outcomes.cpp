#include "actors/http_outcomes.hpp"

#include <spdlog/spdlog.h>

#include <future>
#include <tuple>

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

/// Attribution and CLV computations a node runs at once (each holds a
/// thread and a read transaction for its length); more are refused.
constexpr int kOutcomeJobsMax = 2;

/// A running computation's claim on NodeContext::outcome_jobs: given back by
/// release() before the answer goes out (so a client's next request finds it
/// free), or when the last copy goes.
class JobSlot {
public:
  explicit JobSlot(NodeContext* ctx) : ctx_(ctx) {}
  ~JobSlot() { release(); }
  JobSlot(const JobSlot&) = delete;
  JobSlot& operator=(const JobSlot&) = delete;
  void release() {
    if (!released_.exchange(true))
      ctx_->outcome_jobs.fetch_sub(1);
  }

private:
  NodeContext* ctx_;
  std::atomic<bool> released_{false};
};
using SlotPtr = std::shared_ptr<JobSlot>;

/// A slot, or null when kOutcomeJobsMax computations are running.
SlotPtr take_job_slot(NodeContext* ctx) {
  if (ctx->outcome_jobs.fetch_add(1) >= kOutcomeJobsMax) {
    ctx->outcome_jobs.fetch_sub(1);
    return nullptr;
  }
  return std::make_shared<JobSlot>(ctx);
}

http::Response busy() {
  auto res = http::error_response(503, "busy: " + std::to_string(kOutcomeJobsMax) +
                                           " attribution or CLV computations are running on this node; retry");
  res.headers.emplace_back("Retry-After", "1");
  return res;
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

/// `from` and `to` (RFC 3339), from before to.
Result<std::pair<Millis, Millis>> time_range(const Request& req) {
  auto from = time_param(req, "from");
  auto to = from ? time_param(req, "to") : from;
  if (!to)
    return to.error();
  if (*from >= *to)
    return make_error("bad_request", "from must be before to");
  return std::make_pair(*from, *to);
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
  auto range = time_range(req);
  if (!range)
    return range.error();
  std::tie(q.from, q.to) = *range;
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

std::vector<outcomes::Touch> touches_of(const Store& store, const std::string& customer, Millis from, Millis to,
                                       uint64_t upto) {
  std::vector<outcomes::Touch> out;
  for (auto& raw :
       store.customer_outcomes(customer, Store::OutcomeKind::touch, from, to, kTouchesPerCustomerMax, upto))
    if (auto t = outcomes::touch_from_json(raw))
      out.push_back(std::move(*t));
  return out;
}

/// The record seq a bulk read covers: the waiting index entries moved into
/// the index first (Store::index_outcomes); kLive (slower, still right) if
/// that failed.
uint64_t indexed_upto(Store& store) {
  auto upto = store.index_outcomes();
  if (!upto)
    spdlog::warn("outcomes: indexing waiting records failed ({}); reading them as they are", upto.error().message);
  return upto ? *upto : Store::kLive;
}

/// Feeds this node's records to `stream`: every conversion in [from, to)
/// with its customer's touches in its lookback, page by page; for markov
/// also the customers with touches and no conversion in the range. Records
/// committed after it starts are left out.
void accumulate(Store& store, outcomes::AttributionStream& stream) {
  const auto& q = stream.query();
  const uint64_t upto = indexed_upto(store);
  std::string after;
  do {
    OutcomePage page = store.outcome_page(Store::OutcomeKind::conversion, q.from, q.to, after, kPage, upto);
    for (auto& raw : page.records)
      if (auto c = outcomes::conversion_from_json(raw))
        stream.add_conversion(*c, touches_of(store, c->customer, c->at - q.lookback, c->at, upto));
    after = page.next;
  } while (!after.empty());
  if (q.model != outcomes::Model::markov)
    return;
  std::string customer;
  while (true) {
    auto customers = store.outcome_customers(customer, kPage);
    for (auto& c : customers)
      if (store.customer_outcomes(c, Store::OutcomeKind::conversion, q.from, q.to, 1, upto).empty())
        stream.add_non_converting(touches_of(store, c, q.to - q.lookback, q.to, upto));
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

using StreamPtr = std::shared_ptr<outcomes::AttributionStream>;

/// Validates the query of `req`, takes a job slot, accumulates this node's
/// records on a thread of its own, then calls `then` there with the stream
/// and the slot (kept while the answer is made).
void accumulate_then(caf::actor_system& sys, NodeContext* ctx, const Request& req, const Responder& r,
                     std::function<void(StreamPtr, SlotPtr)> then) {
  auto q = attribution_query(req);
  if (!q)
    return refuse(ctx, r, 400, q.error().message);
  auto slot = take_job_slot(ctx);
  if (!slot)
    return r(busy());
  // The reads may take a while over a long range: off the HTTP thread.
  sys.spawn([=, q = *q](caf::blocking_actor*) {
    auto stream = std::make_shared<outcomes::AttributionStream>(q);
    accumulate(*ctx->store, *stream);
    then(stream, slot);
  });
}

void answer_attribution(NodeContext* ctx, const Request& req, const outcomes::AttributionStream& stream,
                        const Responder& r) {
  auto report = stream.report();
  if (!report)
    return refuse(ctx, r, 400, report.error().message);
  r(http::json_response(200, attribution_json(req, stream.query(), *report)));
}

/// GET /api/attribution. In a cluster every member accumulates its own
/// customers (a customer's touches and conversions are at its owner, so its
/// paths are whole there) and this node merges the partial sums: the same
/// answer as one node holding everything, Markov included.
void get_attribution(caf::actor_system& sys, NodeContext* ctx, const Request& req, Responder r) {
  auto* sysp = &sys;
  accumulate_then(sys, ctx, req, r, [=](StreamPtr stream, SlotPtr slot) {
    if (!ctx->view || req.internal) {
      slot->release();
      return answer_attribution(ctx, req, *stream, r);
    }
    Request call;
    call.method = "GET";
    call.target = "/api/internal/attribution-partial" + req.target.substr(std::min(req.target.find('?'), req.target.size()));
    call_peers(*sysp, ctx, call, std::chrono::seconds(120), [=](std::map<std::string, http::Response> replies) {
      slot->release();
      for (auto& [address, reply] : replies) {
        std::error_code ec;
        auto v = parse_stored_json(reply.body, ec);
        if (reply.status != 200 || ec || !stream->merge_partial(v))
          return r(http::error_response(503, "cluster member " + address + " did not answer its attribution; retry"));
      }
      answer_attribution(ctx, req, *stream, r);
    });
  });
}

// ---- customer value and CLV --------------------------------------------------------------

constexpr size_t kConversionsPerCustomerMax = 100000;

std::vector<outcomes::Conversion> conversions_of(const Store& store, const std::string& customer, Millis to,
                                                 uint64_t upto) {
  std::vector<outcomes::Conversion> out;
  for (auto& raw : store.customer_outcomes(customer, Store::OutcomeKind::conversion, kTimeMin, to,
                                           kConversionsPerCustomerMax, upto))
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

constexpr size_t kSummariesPage = 4096;  // customers read per summaries page (a member's answer)

/// This node's customers' purchase summaries up to `now`, one page of
/// customers after `after`; `next` is "" after the last page.
std::vector<outcomes::CustomerSummary> summaries_page(Store& store, Millis now, const std::string& after,
                                                       std::string& next) {
  std::vector<outcomes::CustomerSummary> out;
  const uint64_t upto = indexed_upto(store);
  auto customers = store.outcome_customers(after, kSummariesPage);
  for (auto& c : customers)
    if (auto s = outcomes::summarize_purchases(conversions_of(store, c, now + 1, upto), now))
      out.push_back(*s);
  next = customers.size() < kSummariesPage ? std::string() : customers.back();
  return out;
}

/// GET /api/internal/clv-summaries?now=MS&after=C (relayed calls): one page.
http::Response summaries_json(NodeContext* ctx, const Request& req) {
  auto now = req.query.count("now") ? whole(req.query.at("now"), 0, kTimeMax) : std::nullopt;
  if (!now)
    return http::error_response(400, "now must be a time in ms");
  std::string next;
  json::array rows;
  for (auto& s : summaries_page(*ctx->store, *now, req.query.count("after") ? req.query.at("after") : "", next))
    rows.push_back(json::array{s.x, s.t_x, s.T, s.m});
  return http::json_response(200, json::object{{"summaries", std::move(rows)}, {"next", next}});
}

/// Appends one page of summaries_json; false when it is not such a page.
bool add_summaries(std::vector<outcomes::CustomerSummary>& out, const json::value& v, std::string& next) {
  auto* o = v.if_object();
  auto* rows = o ? o->if_contains("summaries") : nullptr;
  auto* n = o ? o->if_contains("next") : nullptr;
  if (!rows || !rows->is_array() || !n || !n->is_string())
    return false;
  for (auto& r : rows->get_array()) {
    auto* a = r.if_array();
    if (!a || a->size() != 4 || !(*a)[0].is_int64())
      return false;
    double f[3];
    for (size_t i = 1; i < 4; ++i) {
      if (!(*a)[i].is_double() && !(*a)[i].is_int64())
        return false;
      f[i - 1] = (*a)[i].is_double() ? (*a)[i].get_double() : double((*a)[i].get_int64());
    }
    out.push_back(outcomes::CustomerSummary{(*a)[0].get_int64(), f[0], f[1], f[2]});
  }
  next = std::string(n->get_string());
  return true;
}

/// This node's predicted value per journey under `params` at `now`.
outcomes::ClvByJourney by_journey_here(NodeContext* ctx, const outcomes::ClvParams& params, Millis now) {
  outcomes::ClvByJourney by_journey;
  const uint64_t upto = indexed_upto(*ctx->store);
  for_each_customer(*ctx->store, [&](const std::string& c) {
    if (auto v = predicted(ctx, params, conversions_of(*ctx->store, c, now + 1, upto), now))
      by_journey.add(touches_of(*ctx->store, c, kTimeMin, now + 1, upto), *v);
  });
  return by_journey;
}

/// Runs `req` at `address` and waits for its answer (blocking actors only).
http::Response call_and_wait(caf::actor_system& sys, NodeContext* ctx, const std::string& address, Request req,
                             std::chrono::seconds timeout) {
  req.caller.name = "clv-fit";
  req.caller.role = Role::admin;
  auto answer = std::make_shared<std::promise<http::Response>>();
  auto future = answer->get_future();
  call_member(sys, ctx, address, req, timeout, [answer](http::Response r) { answer->set_value(std::move(r)); });
  return future.get();
}

/// Every other member's summaries added to `out`; the first member that did
/// not answer, or "" when all did.
std::string gather_summaries(caf::actor_system& sys, NodeContext* ctx, Millis now,
                             std::vector<outcomes::CustomerSummary>& out) {
  for (auto& address : other_members(*ctx)) {
    std::string next;
    do {
      Request call;
      call.method = "GET";
      call.target = "/api/internal/clv-summaries?now=" + std::to_string(now) + "&after=" + http::percent_encode(next);
      auto reply = call_and_wait(sys, ctx, address, call, std::chrono::seconds(60));
      std::error_code ec;
      auto v = parse_stored_json(reply.body, ec);
      if (reply.status != 200 || ec || !add_summaries(out, v, next))
        return address;
    } while (!next.empty());
  }
  return "";
}

/// Every other member's predicted values per journey merged into `sums`;
/// the first member that did not answer, or "".
std::string gather_by_journey(caf::actor_system& sys, NodeContext* ctx, const std::string& params, Millis now,
                              outcomes::ClvByJourney& sums) {
  for (auto& address : other_members(*ctx)) {
    Request call;
    call.method = "POST";
    call.target = "/api/internal/clv-by-journey?now=" + std::to_string(now);
    call.body = params;
    auto reply = call_and_wait(sys, ctx, address, call, std::chrono::seconds(120));
    std::error_code ec;
    auto v = parse_stored_json(reply.body, ec);
    if (reply.status != 200 || ec || !sums.merge_json(v))
      return address;
  }
  return "";
}

bool store_fit(caf::blocking_actor* self, NodeContext* ctx, const std::string& params, const std::string& text) {
  Batch b;
  b.meta = {{"clv_params", params}, {"clv", text}};
  bool stored = false;
  self->request(ctx->store_actor, std::chrono::seconds(60), batch_atom::value, std::move(b))
    .receive([&](bool ok) { stored = ok; }, [&](caf::error&) { stored = false; });
  return stored;
}

/// POST /api/clv/fit: summaries of every customer's purchases up to now (in
/// a cluster: every member's), the maximum-likelihood fit, then the
/// predicted value per journey (each member sums its own customers); stored
/// in meta at every member, so customer views and GET /api/clv agree.
void fit_clv(caf::blocking_actor* self, NodeContext* ctx, Responder r) {
  auto& sys = self->system();
  const Millis now = ctx->clock->now();
  std::vector<outcomes::CustomerSummary> summaries;  // 32 bytes per customer with a purchase
  for (std::string after, next;; after = next) {
    auto page = summaries_page(*ctx->store, now, after, next);
    summaries.insert(summaries.end(), page.begin(), page.end());
    if (next.empty())
      break;
  }
  if (auto down = gather_summaries(sys, ctx, now, summaries); !down.empty())
    return r(http::error_response(503, "cluster member " + down + " did not answer its customers; retry"));
  auto params = outcomes::fit_clv(summaries);
  if (!params)
    return refuse(ctx, r, 422, params.error().message);
  const std::string params_text = outcomes::clv_params_json(*params);
  auto by_journey = by_journey_here(ctx, *params, now);
  if (auto down = gather_by_journey(sys, ctx, params_text, now, by_journey); !down.empty())
    return r(http::error_response(503, "cluster member " + down + " did not answer its predicted values; retry"));
  json::object fit{{"fitted", true},
                   {"at", format_rfc3339(now)},
                   {"customers", summaries.size()},
                   {"horizon_days", horizon_days(ctx)},
                   {"params", parse_stored_json_object(params_text)},
                   {"by_journey", by_journey.to_json()}};
  const std::string text = json::serialize(fit);
  if (!store_fit(self, ctx, params_text, text))
    return r(http::error_response(503, "the fit could not be stored; retry"));
  for (auto& address : other_members(*ctx)) {
    Request call;
    call.method = "POST";
    call.target = "/api/internal/clv-store";
    call.body = text;
    if (call_and_wait(sys, ctx, address, call, std::chrono::seconds(60)).status != 200)
      return r(http::error_response(503, "cluster member " + address + " did not store the fit; retry"));
  }
  http::Response ok;
  ok.body = text;  // byte for byte what GET /api/clv serves
  r(std::move(ok));
}

/// POST /api/internal/clv-by-journey?now=MS, body: the fitted parameters.
void clv_by_journey(caf::actor_system& sys, NodeContext* ctx, const Request& req, Responder r) {
  auto now = req.query.count("now") ? whole(req.query.at("now"), 0, kTimeMax) : std::nullopt;
  auto params = outcomes::clv_params_from_json(req.body);
  if (!now || !params)
    return r(http::error_response(400, "now (ms) and the fitted parameters are needed"));
  sys.spawn([=, p = *params, at = *now](caf::blocking_actor*) {
    r(http::json_response(200, by_journey_here(ctx, p, at).to_json()));
  });
}

/// POST /api/internal/clv-store, body: a fit as POST /api/clv/fit answers it.
void clv_store(caf::actor_system& sys, NodeContext* ctx, const Request& req, Responder r) {
  std::error_code ec;
  auto v = parse_stored_json(req.body, ec);
  auto* params = !ec && v.is_object() ? v.get_object().if_contains("params") : nullptr;
  if (!params || !outcomes::clv_params_from_json(json::serialize(*params)))
    return r(http::error_response(400, "a fit with its params is needed"));
  sys.spawn([=, params_text = json::serialize(*params), text = req.body](caf::blocking_actor* self) {
    if (!store_fit(self, ctx, params_text, text))
      return r(http::error_response(503, "the fit could not be stored; retry"));
    r(http::json_response(200, json::object{{"stored", true}}));
  });
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

/// One page of this node's export lines (NDJSON) after `after`; `after` is
/// set to the next cursor ("" once the range is done).
std::string export_page(const Store& store, Store::OutcomeKind records, bool deliveries, Millis from, Millis to,
                        std::string& after) {
  OutcomePage page = store.outcome_page(records, from, to, after, kPage);
  std::string piece;
  for (auto& line : page.records) {
    const std::string out = deliveries ? delivery_line(store, line) : line;
    if (!out.empty())
      piece.append(out).push_back('\n');
  }
  after = page.next;
  return piece;
}

struct ExportQuery {
  Store::OutcomeKind records = Store::OutcomeKind::touch;
  bool deliveries = false;
  Millis from = 0, to = 0;
};

Result<ExportQuery> export_query(const std::string& kind, const Request& req, bool ms_times) {
  ExportQuery q;
  q.records = kind == "conversions" ? Store::OutcomeKind::conversion : Store::OutcomeKind::touch;
  q.deliveries = kind == "deliveries";
  if (ms_times) {  // a relayed page: times in ms
    auto ms = [&](const char* name) -> std::optional<int64_t> {
      auto it = req.query.find(name);
      if (it == req.query.end())
        return std::nullopt;
      const bool neg = !it->second.empty() && it->second[0] == '-';
      auto n = whole(neg ? it->second.substr(1) : it->second, 0, kTimeMax);
      return n ? std::optional<int64_t>(neg ? -*n : *n) : std::nullopt;
    };
    auto from = ms("from");
    auto to = ms("to");
    if (!from || !to)
      return make_error("bad_request", "from and to (ms) are needed");
    q.from = *from;
    q.to = *to;
    return q;
  }
  auto range = time_range(req);
  if (!range)
    return range.error();
  std::tie(q.from, q.to) = *range;
  return q;
}

/// GET /api/internal/export-page?kind&from&to&after (relayed calls): one page
/// of this node's lines, {"ndjson": "...", "next": cursor}.
http::Response export_page_json(NodeContext* ctx, const Request& req) {
  const std::string kind = req.query.count("kind") ? req.query.at("kind") : "";
  if (kind != "touches" && kind != "conversions" && kind != "deliveries")
    return http::error_response(400, "kind must be touches, conversions or deliveries");
  auto q = export_query(kind, req, true);
  if (!q)
    return http::error_response(400, q.error().message);
  std::string after = req.query.count("after") ? req.query.at("after") : "";
  std::string lines = export_page(*ctx->store, q->records, q->deliveries, q->from, q->to, after);
  return http::json_response(200, json::object{{"ndjson", lines}, {"next", after}});
}

/// Where a cluster-wide export is: the member being read and its cursor.
struct ExportCursor {
  std::vector<std::string> members;  // this node first
  size_t at = 0;
  std::string after;
};

/// GET /api/export/{touches|conversions|deliveries}?from&to: NDJSON, streamed
/// one page of records per chunk (deliveries: the touches of the range, each
/// with its delivery's current status). In a cluster: this node's records,
/// then each other member's, page by page (each member's in time order); a
/// member that stops answering cuts the body short.
void get_export(caf::actor_system& sys, NodeContext* ctx, const std::string& kind, const Request& req, Responder r) {
  if (kind != "touches" && kind != "conversions" && kind != "deliveries")
    return refuse(ctx, r, 404, "no export '" + kind + "' (use touches, conversions or deliveries)");
  auto q = export_query(kind, req, false);
  if (!q)
    return refuse(ctx, r, 400, q.error().message);
  auto cursor = std::make_shared<ExportCursor>();
  cursor->members.push_back(ctx->config.cluster_listen);
  if (!req.internal)
    for (auto& m : other_members(*ctx))
      cursor->members.push_back(m);
  if (cursor->members.size() > 1 &&
      ctx->metrics.cluster_peers_up.load() + 1 < static_cast<uint64_t>(cursor->members.size()))
    return r(http::error_response(503, "a cluster member is down: the export would be incomplete; retry"));
  std::shared_ptr<Store> store = ctx->store;
  auto* sysp = &sys;
  http::Response res;
  res.content_type = "application/x-ndjson";
  res.pull = [=, q = *q](http::Response::PullDone done) {
    auto& c = *cursor;
    if (c.at == 0) {  // this node's pages, read here
      std::string piece = export_page(*store, q.records, q.deliveries, q.from, q.to, c.after);
      if (c.after.empty())
        ++c.at;
      return done(std::move(piece), c.at < c.members.size());
    }
    Request call;
    call.method = "GET";
    call.target = "/api/internal/export-page?kind=" + kind + "&from=" + std::to_string(q.from) +
                  "&to=" + std::to_string(q.to) + "&after=" + http::percent_encode(c.after);
    call.caller = req.caller;
    const std::string address = c.members[c.at];
    call_member(*sysp, ctx, address, call, std::chrono::seconds(30), [cursor, done](http::Response reply) {
      std::error_code ec;
      auto v = parse_stored_json(reply.body, ec);
      auto* o = !ec && reply.status == 200 ? v.if_object() : nullptr;
      auto* lines = o ? o->if_contains("ndjson") : nullptr;
      auto* next = o ? o->if_contains("next") : nullptr;
      if (!lines || !lines->is_string() || !next || !next->is_string())
        return done(std::nullopt, false);  // cut short: the client sees the body incomplete
      cursor->after = std::string(next->get_string());
      if (cursor->after.empty())
        ++cursor->at;
      done(std::string(lines->get_string()), cursor->at < cursor->members.size());
    });
  };
  r(std::move(res));
}

}  // namespace

json::object customer_value_json(NodeContext* ctx, const std::string& customer) {
  const Millis now = ctx->clock->now();
  auto conversions = conversions_of(*ctx->store, customer, kTimeMax, Store::kLive);
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
        self->delayed_send(self, std::chrono::hours(24), fit_atom::value);
        if (ctx->view && catalog_leader(*ctx) != ctx->config.cluster_listen)
          return;  // in a cluster the catalog leader fits for every member
        auto slot = take_job_slot(ctx);
        if (!slot)
          return;  // a fit or attribution is running: tomorrow
        self->system().spawn([ctx, slot](caf::blocking_actor* fitter) {
          fit_clv(fitter, ctx, [slot](http::Response r) {
            slot->release();
            if (r.status == 200)
              spdlog::info("[clv] daily fit stored");
            else
              spdlog::debug("[clv] daily fit: {} {}", r.status, r.body);
          });
        });
      },
      [=](shutdown_atom) { self->quit(); },
    };
  });
}

void add_outcomes_routes(http::Router& router, caf::actor_system& sys, NodeContext* ctx) {
  auto* sysp = &sys;
  router.add("POST", "/api/clv/fit", Access::admin, [=](Request&&, const Params&, Responder r) {
    auto slot = take_job_slot(ctx);
    if (!slot)
      return r(busy());
    sysp->spawn([=](caf::blocking_actor* self) {
      fit_clv(self, ctx, [slot, r](http::Response res) {
        slot->release();
        r(std::move(res));
      });
    });
  });
  router.add("GET", "/api/internal/clv-summaries", Access::viewer, [=](Request&& req, const Params&, Responder r) {
    if (!req.internal)
      return r(http::error_response(404, "no route"));
    r(summaries_json(ctx, req));
  });
  router.add("POST", "/api/internal/clv-by-journey", Access::viewer,
             [=](Request&& req, const Params&, Responder r) {
               if (!req.internal)
                 return r(http::error_response(404, "no route"));
               clv_by_journey(*sysp, ctx, req, r);
             });
  router.add("POST", "/api/internal/clv-store", Access::admin, [=](Request&& req, const Params&, Responder r) {
    if (!req.internal)
      return r(http::error_response(404, "no route"));
    clv_store(*sysp, ctx, req, r);
  });
  router.add("GET", "/api/clv", Access::viewer, [=](Request&&, const Params&, Responder r) { get_clv(ctx, r); });
  router.add("GET", "/api/export/{kind}", Access::viewer, [=](Request&& req, const Params& p, Responder r) {
    get_export(*sysp, ctx, p.at("kind"), req, r);
  });
  router.add("GET", "/api/internal/export-page", Access::viewer, [=](Request&& req, const Params&, Responder r) {
    if (!req.internal)
      return r(http::error_response(404, "no route"));
    r(export_page_json(ctx, req));
  });
  router.add("GET", "/api/attribution", Access::viewer,
             [=](Request&& req, const Params&, Responder r) { get_attribution(*sysp, ctx, req, r); });
  router.add("GET", "/api/internal/attribution-partial", Access::viewer,
             [=](Request&& req, const Params&, Responder r) {
               if (!req.internal)
                 return r(http::error_response(404, "no route"));
               // this node's partial sums: the member the client asked merges them
               accumulate_then(*sysp, ctx, req, r, [r](StreamPtr stream, SlotPtr slot) {
                 slot->release();
                 r(http::json_response(200, stream->partial_json()));
               });
             });
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
