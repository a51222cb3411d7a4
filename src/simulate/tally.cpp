// The summary of a simulation: the node's journey stats (journey_stats_json)
// and results (outcomes::sum_arms / arms_json) over the counters the engine's
// decisions carried, summed as the store sums them.
#include <algorithm>

#include "waymark/journey_stats.hpp"
#include "waymark/outcomes/results.hpp"
#include "waymark/journey_results.hpp"
#include "waymark/simulate/simulator.hpp"

namespace json = boost::json;

namespace waymark::simulate {

namespace {


/// GET /api/journeys/{id}/results for all versions.
json::object results_json(const std::string& id, const JourneyEntry& entry, const JourneyTally& t) {
  std::vector<outcomes::ArmCounter> counters;
  for (const auto& [key, n] : t.arms)
    counters.push_back(outcomes::ArmCounter{std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
  const auto shape = results_shape(entry);
  return json::object{{"journey", id},
                      {"version", nullptr},
                      {"arms", outcomes::arms_json(outcomes::sum_arms(counters, 0, shape), shape)}};
}

}  // namespace

json::object Simulator::summary() const {
  static const JourneyTally none;
  json::object journeys;
  for (const auto& [id, entry] : catalog_->journeys) {
    auto it = tally_.find(id);
    const JourneyTally& t = it == tally_.end() ? none : it->second;
    json::object o = journey_stats_json(t.counters, static_cast<int>(entry.versions.size()));
    o["results"] = results_json(id, entry, t);
    journeys[id] = std::move(o);
  }
  return json::object{
    {"start", format_rfc3339(start_)},
    {"end", format_rfc3339(clock_)},
    {"until", format_rfc3339(until_)},
    {"events", json::object{{"read", lines_.read},
                            {"applied", lines_.applied},
                            {"invalid", lines_.invalid},
                            {"duplicate", lines_.duplicate},
                            {"late", lines_.late},
                            {"after_until", lines_.after_until}}},
    {"customers", static_cast<int64_t>(customers_.size())},
    {"deliveries", deliveries_},
    {"timers", json::object{{"fired", timers_fired_}, {"pending", static_cast<int64_t>(live_timers_.size())}}},
    {"journeys", std::move(journeys)},
  };
}

}  // namespace waymark::simulate
