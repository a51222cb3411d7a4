// What the simulator counts: the split arms of PRODUCT.md §10 (from the
// engine's trace of each trigger) and the summary object.
//
// Arms: the engine records which variant a split chose in the trace ("variant
// <name>" at the split step) and a reached goal as "goal <event>" (with the
// stats "goal" / "goal_value" in the same order). A customer's split visit
// stays open until its instance of that journey ends; a goal of the journey
// converts every open visit (one per split step passed). When the customer no
// longer runs the journey, its open visits end unconverted. With several
// concurrent instances of one keyed journey, a goal is credited to the visits
// of the customer's instances in the order they were made (the trace does not
// name the instance).
//
// TODO(holdout, issue #15 with PRODUCT.md §10): journeys do not carry
// "holdout" in this tree yet (the engine work is in progress elsewhere). When
// the engine traces held-out entrants, add the arms "treated" and "holdout"
// here and compare the variants with the holdout instead of the first variant.
#include <algorithm>
#include <set>

#include "waymark/journey_stats.hpp"
#include "waymark/outcomes/experiment.hpp"
#include "waymark/simulate/simulator.hpp"

namespace json = boost::json;

namespace waymark::simulate {

namespace {

bool starts_with(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

/// Goal values of one trigger per journey, in the order they were reached.
std::map<std::string, std::vector<int64_t>> goal_values(const Decision& d) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& st : d.stats) {
    if (!st.step.empty())
      continue;
    if (st.counter == "goal")
      out[st.journey].insert(out[st.journey].end(), static_cast<size_t>(st.n), 0);
    else if (st.counter == "goal_value" && !out[st.journey].empty())
      out[st.journey].back() = st.n;
  }
  return out;
}

bool runs(const CustomerState& s, const std::string& journey) {
  return std::any_of(s.instances.begin(), s.instances.end(), [&](const Instance& i) { return i.journey == journey; });
}

}  // namespace

void Simulator::tally_arms(Customer& c, const Decision& d) {
  auto goals = goal_values(d);
  std::map<std::string, size_t> used;
  for (const auto& t : c.s.trace) {
    if (starts_with(t.what, "variant ")) {
      const std::string arm = t.step + ":" + t.what.substr(8);
      ++tally_[t.journey].variants[arm].entered;
      c.open.emplace_back(t.journey + '\x1f' + arm, 1);
    } else if (starts_with(t.what, "goal ")) {
      const auto& values = goals[t.journey];
      const size_t k = used[t.journey]++;
      const int64_t value = k < values.size() ? values[k] : 0;
      std::set<std::string> credited;  // one open visit per split arm
      for (auto& [key, n] : c.open) {
        if (n == 0 || !starts_with(key, t.journey + '\x1f') || !credited.insert(key).second)
          continue;
        auto& arm = tally_[t.journey].variants[key.substr(t.journey.size() + 1)];
        ++arm.converted;
        arm.value += value;
        n = 0;
      }
    }
  }
  c.open.erase(std::remove_if(c.open.begin(), c.open.end(),
                              [&](const auto& o) {
                                return o.second == 0 || !runs(c.s, o.first.substr(0, o.first.find('\x1f')));
                              }),
               c.open.end());
}

namespace {

json::object arm_json(const std::string& name, int64_t entered, int64_t converted, int64_t value,
                      const outcomes::ArmCounts* control) {
  const outcomes::ArmCounts counts{name, entered, converted, static_cast<double>(value)};
  const auto s = outcomes::summarize(counts);
  json::object o{{"arm", name},        {"entered", s.entered}, {"converted", s.converted},
                 {"rate", s.rate},     {"value", s.value},     {"value_per_entrant", s.value_per_entrant},
                 {"uplift", nullptr}};
  if (control) {
    if (auto u = outcomes::compare(counts, *control))
      o["uplift"] = json::object{{"vs", control->arm}, {"diff", u->diff}, {"ci", json::array{u->ci_lo, u->ci_hi}},
                                 {"p", u->p}};
  }
  return o;
}

/// GET /api/journeys/{id}/results for all versions: "all", then each split
/// step's variants (steps by id, variants as declared) against the first one.
json::object results_json(const std::string& id, const JourneyEntry& entry, const JourneyTally& t) {
  json::array arms;
  arms.push_back(arm_json("all", t.entered, t.converted, t.value, nullptr));
  const JourneyPtr latest = entry.latest();
  for (const auto& [step_id, step] : latest ? latest->steps : std::map<std::string, Step>{}) {
    if (step.type != StepType::split || step.variants.empty())
      continue;
    std::optional<outcomes::ArmCounts> control;
    for (const auto& v : step.variants) {
      const std::string name = step_id + ":" + v.name;
      auto it = t.variants.find(name);
      const JourneyTally::Arm a = it == t.variants.end() ? JourneyTally::Arm{} : it->second;
      arms.push_back(arm_json(name, a.entered, a.converted, a.value, control ? &*control : nullptr));
      if (!control)
        control = outcomes::ArmCounts{name, a.entered, a.converted, static_cast<double>(a.value)};
    }
  }
  return json::object{{"journey", id}, {"version", nullptr}, {"arms", std::move(arms)}};
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
