// Experiment results: sums of stored counters, compared arm by arm.
#include "waymark/outcomes/results.hpp"

#include <algorithm>
#include <map>

#include "waymark/outcomes/records.hpp"

namespace waymark::outcomes {

namespace json = boost::json;

namespace {

/// The split step of a variant arm ("step:variant" -> "step"); "" for others.
std::string split_of(const std::string& arm) {
  auto colon = arm.rfind(':');
  return colon == std::string::npos ? "" : arm.substr(0, colon);
}

json::value uplift_json(const ArmCounts& arm, const ArmCounts* control) {
  if (!control)
    return nullptr;
  auto u = compare(arm, *control);
  if (!u)
    return nullptr;
  return json::object{{"vs", control->arm}, {"diff", u->diff}, {"ci", json::array{u->ci_lo, u->ci_hi}}, {"p", u->p}};
}

}  // namespace

std::vector<ArmCounts> sum_arms(const std::vector<ArmCounter>& counters, int version, const ResultsShape& shape) {
  std::map<std::string, ArmCounts> by_arm;
  std::map<std::string, int64_t> micros;
  for (const auto& c : counters) {
    if (version != 0 && c.version != version)
      continue;
    ArmCounts& a = by_arm[c.arm];
    a.arm = c.arm;
    if (c.counter == "entered")
      a.entered += c.n;
    else if (c.counter == "converted")
      a.converted += c.n;
    else if (c.counter == "value_micros")
      micros[c.arm] += c.n;
  }
  for (auto& [arm, m] : micros)
    by_arm[arm].value = from_micros(m);
  auto take = [&](const std::string& arm) {
    ArmCounts a = by_arm.count(arm) ? by_arm[arm] : ArmCounts{};
    a.arm = arm;
    by_arm.erase(arm);
    return a;
  };
  std::vector<ArmCounts> out;
  const bool holdout = shape.holdout || by_arm.count("holdout");
  ArmCounts treated = take("treated"), held = take("holdout");
  out.push_back(ArmCounts{"all", treated.entered + held.entered, treated.converted + held.converted,
                          from_micros(to_micros(treated.value) + to_micros(held.value))});
  out.push_back(treated);
  if (holdout)
    out.push_back(held);
  for (const auto& [step, variants] : shape.splits)
    for (const auto& v : variants)
      out.push_back(take(step + ":" + v));
  for (auto& [arm, a] : by_arm)  // variants of older versions' splits
    out.push_back(a);
  return out;
}

json::array arms_json(const std::vector<ArmCounts>& arms, const ResultsShape& shape) {
  const ArmCounts* holdout = nullptr;
  std::map<std::string, const ArmCounts*> first_variant;  // split step -> its first arm
  for (const auto& a : arms) {
    if (a.arm == "holdout")
      holdout = &a;
    const std::string step = split_of(a.arm);
    if (!step.empty() && !first_variant.count(step))
      first_variant[step] = &a;
  }
  if (!shape.holdout && holdout && holdout->entered == 0)
    holdout = nullptr;
  json::array out;
  for (const auto& a : arms) {
    const ArmSummary s = summarize(a);
    json::object o{{"arm", s.arm},   {"entered", s.entered}, {"converted", s.converted},
                   {"rate", s.rate}, {"value", s.value},     {"value_per_entrant", s.value_per_entrant}};
    const ArmCounts* control = nullptr;
    const std::string step = split_of(a.arm);
    if (a.arm == "treated")
      control = holdout;
    else if (!step.empty())
      control = holdout ? holdout : (first_variant[step] == &a ? nullptr : first_variant[step]);
    o["uplift"] = uplift_json(a, control);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace waymark::outcomes
