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

namespace {

/// {"<name>": string, "customers": integer, "predicted": number} -> (name, sum).
bool read_sum(const json::value& v, const char* name, std::string& key, int64_t& customers, double& predicted) {
  auto* o = v.if_object();
  if (!o)
    return false;
  auto* k = o->if_contains(name);
  auto* c = o->if_contains("customers");
  auto* p = o->if_contains("predicted");
  if (!k || !k->is_string() || !c || !c->is_int64() || !p || !(p->is_double() || p->is_int64()))
    return false;
  key = std::string(k->get_string());
  customers = c->get_int64();
  predicted = p->is_double() ? p->get_double() : double(p->get_int64());
  return true;
}

}  // namespace

bool ClvByJourney::merge_json(const json::value& v) {
  auto* a = v.if_array();
  if (!a)
    return false;
  ClvByJourney part;
  for (const auto& j : *a) {
    std::string journey;
    Sum s;
    auto* variants = j.is_object() ? j.get_object().if_contains("variants") : nullptr;
    if (!read_sum(j, "journey", journey, s.customers, s.predicted) || !variants || !variants->is_array())
      return false;
    part.journeys_[journey] = s;
    for (const auto& x : variants->get_array()) {
      std::string variant;
      Sum vs;
      if (!read_sum(x, "variant", variant, vs.customers, vs.predicted))
        return false;
      part.variants_[{journey, variant}] = vs;
    }
  }
  merge(part);
  return true;
}

}  // namespace waymark::outcomes
