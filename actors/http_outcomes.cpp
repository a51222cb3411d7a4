#include "actors/http_outcomes.hpp"

#include <spdlog/spdlog.h>

#include "waymark/outcomes/results.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

using http::Access;
using http::Params;
using http::Request;
using http::Responder;

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
    return r(http::error_response(404, "no journey " + id));
  const int64_t latest = static_cast<int64_t>(it->second.versions.size());
  int version = 0;
  if (auto q = req.query.find("version"); q != req.query.end()) {
    auto v = whole(q->second, 1, latest);
    if (!v)
      return r(http::error_response(400, "version must be a whole number from 1 to " + std::to_string(latest)));
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

}  // namespace

void add_outcomes_routes(http::Router& router, caf::actor_system&, NodeContext* ctx) {
  router.add("GET", "/api/journeys/{id}/results", Access::admin,
             [=](Request&& req, const Params& p, Responder r) { get_results(ctx, p.at("id"), req, r); });
}

}  // namespace waymark
