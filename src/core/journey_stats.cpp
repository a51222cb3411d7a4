#include "waymark/journey_stats.hpp"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace json = boost::json;

namespace waymark {

namespace {

/// Counts of one version (or of all), from the step-less counters and exits.
struct Totals {
  int64_t entered = 0;
  int64_t exited = 0;
  int64_t conversions = 0;
  int64_t value = 0;  // sum of the goal values (rounded per conversion by the engine)

  void add(const std::string& counter, int64_t n) {
    if (counter == "entered")
      entered += n;
    else if (counter == "goal")
      conversions += n;
    else if (counter == "goal_value")
      value += n;
    else if (counter.rfind("exited:", 0) == 0)
      exited += n;
  }

  json::object json_with(json::object o) const {
    o["entered"] = entered;
    o["active"] = std::max<int64_t>(0, entered - exited);
    o["conversions"] = json::object{{"count", conversions}, {"value", value}};
    return o;
  }
};

void add_to(json::object& o, const std::string& key, int64_t n) {
  auto* v = o.if_contains(key);
  o[key] = (v && v->is_int64() ? v->get_int64() : 0) + n;
}

/// Per-step counters; "group:sub" counters ("exited:goal", "delivery:sent") nest.
void add_step_counter(json::object& steps, const std::string& step, const std::string& counter, int64_t n) {
  auto& so = steps[step];
  if (!so.is_object())
    so = json::object{};
  auto& obj = so.get_object();
  const auto colon = counter.find(':');
  if (colon == std::string::npos)
    return add_to(obj, counter, n);
  auto& g = obj[counter.substr(0, colon)];
  if (!g.is_object())
    g = json::object{};
  add_to(g.get_object(), counter.substr(colon + 1), n);
}

/// Customers at a step now: visited - left - exited there (the engine counts
/// "left" whenever an instance moves on).
void add_active_now(json::object& steps) {
  for (auto& [step, so] : steps) {
    auto& o = so.as_object();
    auto num = [&](const char* k) { return o.if_contains(k) ? o.at(k).as_int64() : int64_t{0}; };
    int64_t exited_here = 0;
    if (auto* ex = o.if_contains("exited"); ex && ex->is_object())
      for (auto& [reason, n] : ex->get_object())
        exited_here += n.as_int64();
    o["active"] = std::max<int64_t>(0, num("visited") - num("left") - exited_here);
  }
}

/// Reaction rates of a send step (PRODUCT.md §10): count / sent, as fractions.
void add_engagement_rates(json::object& steps) {
  for (auto& [step, so] : steps) {
    auto& o = so.as_object();
    const int64_t sent = o.if_contains("sent") ? o.at("sent").as_int64() : 0;
    if (sent <= 0)
      continue;
    const json::object* eng = o.if_contains("engagement") ? o.at("engagement").if_object() : nullptr;
    auto count = [&](const char* k) { return eng && eng->if_contains(k) ? eng->at(k).as_int64() : int64_t{0}; };
    json::object rates;
    for (auto [name, type] : {std::pair{"open", "opened"}, {"click", "clicked"}, {"bounce", "bounced"},
                              {"complaint", "complained"}, {"unsubscribe", "unsubscribed"}})
      rates[name] = static_cast<double>(count(type)) / static_cast<double>(sent);
    o["rates"] = std::move(rates);
  }
}

}  // namespace

json::object journey_stats_json(const std::map<std::string, int64_t>& counters, int versions) {
  Totals total;
  std::vector<Totals> by_version(static_cast<size_t>(std::max(versions, 0)));
  json::object exited, steps;
  for (auto& [key, n] : counters) {
    const auto a = key.find('\0'), b = key.find('\0', a + 1);
    if (a == std::string::npos || b == std::string::npos)
      continue;
    const std::string version = key.substr(0, a), step = key.substr(a + 1, b - a - 1), counter = key.substr(b + 1);
    total.add(counter, n);
    const long v = std::strtol(version.c_str(), nullptr, 10);
    if (v >= 1 && static_cast<size_t>(v) <= by_version.size())
      by_version[static_cast<size_t>(v - 1)].add(counter, n);
    if (counter.rfind("exited:", 0) == 0)
      add_to(exited, counter.substr(7), n);
    if (!step.empty())
      add_step_counter(steps, step, counter, n);
  }
  add_active_now(steps);
  add_engagement_rates(steps);
  json::array versions_json;
  for (size_t i = 0; i < by_version.size(); ++i)
    versions_json.push_back(by_version[i].json_with(json::object{{"version", static_cast<int64_t>(i + 1)}}));
  json::object out = total.json_with(json::object{});
  out["exited"] = std::move(exited);
  out["by_version"] = std::move(versions_json);
  out["steps"] = std::move(steps);
  return out;
}

}  // namespace waymark
