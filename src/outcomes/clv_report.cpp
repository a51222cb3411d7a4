#include "waymark/outcomes/clv_report.hpp"

#include <set>

namespace waymark::outcomes {

namespace json = boost::json;

void ClvByJourney::add(const std::vector<Touch>& touches, double predicted) {
  std::set<std::string> journeys;
  std::set<std::pair<std::string, std::string>> variants;
  for (const auto& t : touches) {
    journeys.insert(t.journey);
    if (!t.variant.empty())
      variants.insert({t.journey, t.variant});
  }
  for (const auto& j : journeys) {
    journeys_[j].customers += 1;
    journeys_[j].predicted += predicted;
  }
  for (const auto& v : variants) {
    variants_[v].customers += 1;
    variants_[v].predicted += predicted;
  }
}

void ClvByJourney::merge(const ClvByJourney& o) {
  for (const auto& [j, s] : o.journeys_) {
    journeys_[j].customers += s.customers;
    journeys_[j].predicted += s.predicted;
  }
  for (const auto& [v, s] : o.variants_) {
    variants_[v].customers += s.customers;
    variants_[v].predicted += s.predicted;
  }
}

json::array ClvByJourney::to_json() const {
  json::array out;
  for (const auto& [j, s] : journeys_) {
    json::array variants;
    for (auto it = variants_.lower_bound({j, ""}); it != variants_.end() && it->first.first == j; ++it)
      variants.push_back(json::object{
        {"variant", it->first.second}, {"customers", it->second.customers}, {"predicted", it->second.predicted}});
    out.push_back(json::object{
      {"journey", j}, {"customers", s.customers}, {"predicted", s.predicted}, {"variants", std::move(variants)}});
  }
  return out;
}

}  // namespace waymark::outcomes
