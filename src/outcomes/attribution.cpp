// Attribution: windows each conversion's touches and shares its credit.
#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "waymark/outcomes/attribution.hpp"

namespace waymark::outcomes {
namespace {

using TouchList = std::vector<const Touch*>;  // one customer's, by (at, delivery_id)

std::unordered_map<std::string, TouchList> by_customer(const std::vector<Touch>& touches) {
  std::unordered_map<std::string, TouchList> out;
  for (const auto& t : touches)
    out[t.customer].push_back(&t);
  for (auto& [c, list] : out)
    std::sort(list.begin(), list.end(), [](const Touch* a, const Touch* b) {
      return a->at != b->at ? a->at < b->at : a->delivery_id < b->delivery_id;
    });
  return out;
}

// The touches with from <= at < to, in order.
TouchList window(const TouchList& list, Millis from, Millis to) {
  auto lo = std::lower_bound(list.begin(), list.end(), from, [](const Touch* t, Millis v) { return t->at < v; });
  auto hi = std::lower_bound(lo, list.end(), to, [](const Touch* t, Millis v) { return t->at < v; });
  return TouchList(lo, hi);
}

std::string group_of(const Touch& t, GroupBy by) {
  switch (by) {
    case GroupBy::journey: return t.journey;
    case GroupBy::channel: return t.channel;
    case GroupBy::step: return t.journey + "/" + t.step;
    case GroupBy::template_id: return t.template_id;
  }
  return {};
}

// Weights of the touches of one conversion (a rule-based model); sum to 1.
std::vector<double> weights(const TouchList& ts, const AttributionQuery& q) {
  const size_t n = ts.size();
  std::vector<double> w(n, 0.0);
  switch (q.model) {
    case Model::first: w.front() = 1; break;
    case Model::last: w.back() = 1; break;
    case Model::linear: std::fill(w.begin(), w.end(), 1.0 / n); break;
    case Model::time_decay: {
      // 2^(-age/half_life) relative to the newest touch (weight 1): the same
      // shares once normalised, and the sum cannot underflow to 0.
      double sum = 0;
      for (size_t i = 0; i < n; ++i)
        sum += w[i] = std::exp2(-double(ts.back()->at - ts[i]->at) / double(q.half_life));
      for (auto& x : w)
        x /= sum;
      break;
    }
    case Model::position:
      if (n <= 2) {
        std::fill(w.begin(), w.end(), 1.0 / n);
      } else {
        std::fill(w.begin() + 1, w.end() - 1, 0.2 / double(n - 2));
        w.front() = w.back() = 0.4;
      }
      break;
    case Model::markov: break;  // not a rule-based model
  }
  return w;
}

std::optional<Error> validate(const AttributionQuery& q) {
  if (q.from >= q.to)
    return make_error("bad_range", "from must be before to");
  if (q.lookback <= 0)
    return make_error("bad_lookback", "lookback must be a positive duration");
  if (q.model == Model::time_decay && q.half_life <= 0)
    return make_error("bad_half_life", "half_life must be a positive duration");
  return std::nullopt;
}

std::vector<GroupCredit> sorted_groups(const std::map<std::string, GroupCredit>& credit) {
  std::vector<GroupCredit> out;
  for (const auto& [g, c] : credit)
    if (c.conversions > 0)
      out.push_back(c);
  return out;
}

// The paths of customers with touches and no conversion in the range: their
// touches in [to - lookback, to).
void add_non_converting(std::vector<Path>& paths, const std::unordered_map<std::string, TouchList>& touches,
                        const std::unordered_set<std::string>& converted, const AttributionQuery& q) {
  for (const auto& [customer, list] : touches) {
    if (converted.count(customer))
      continue;
    Path p;
    for (const Touch* t : window(list, q.to - q.lookback, q.to))
      p.groups.push_back(group_of(*t, q.by));
    if (!p.groups.empty())
      paths.push_back(std::move(p));
  }
}

}  // namespace

std::optional<Model> parse_model(std::string_view name) {
  static const std::pair<std::string_view, Model> names[] = {
      {"first", Model::first},           {"last", Model::last},         {"linear", Model::linear},
      {"time_decay", Model::time_decay}, {"position", Model::position}, {"markov", Model::markov}};
  for (const auto& [n, m] : names)
    if (n == name)
      return m;
  return std::nullopt;
}

std::optional<GroupBy> parse_group_by(std::string_view name) {
  static const std::pair<std::string_view, GroupBy> names[] = {
      {"journey", GroupBy::journey}, {"channel", GroupBy::channel}, {"step", GroupBy::step},
      {"template", GroupBy::template_id}};
  for (const auto& [n, g] : names)
    if (n == name)
      return g;
  return std::nullopt;
}

Result<AttributionReport> attribute(const std::vector<Touch>& touches, const std::vector<Conversion>& conversions,
                                    const AttributionQuery& q) {
  if (auto err = validate(q))
    return *err;
  const auto touches_of = by_customer(touches);
  AttributionReport report;
  std::map<std::string, GroupCredit> credit;
  std::vector<Path> paths;             // markov only
  double attributed_value = 0;         // markov only
  std::unordered_set<std::string> converted;
  for (const auto& c : conversions) {
    if (c.at < q.from || c.at >= q.to)
      continue;
    ++report.conversions;
    converted.insert(c.customer);
    auto it = touches_of.find(c.customer);
    const TouchList ts = it == touches_of.end() ? TouchList{} : window(it->second, c.at - q.lookback, c.at);
    if (ts.empty()) {
      ++report.unattributed;
      continue;
    }
    if (q.model == Model::markov) {
      Path p{{}, true};
      for (const Touch* t : ts)
        p.groups.push_back(group_of(*t, q.by));
      paths.push_back(std::move(p));
      attributed_value += c.value;
      continue;
    }
    const auto w = weights(ts, q);
    for (size_t i = 0; i < ts.size(); ++i) {
      auto& g = credit[group_of(*ts[i], q.by)];
      g.conversions += w[i];
      g.value += w[i] * c.value;
    }
  }
  if (q.model == Model::markov) {
    add_non_converting(paths, touches_of, converted, q);
    auto shares = markov_shares(paths);
    if (!shares)
      return shares.error();
    const double attributed = double(report.conversions - report.unattributed);
    for (const auto& [g, share] : *shares)
      credit[g] = GroupCredit{g, share * attributed, share * attributed_value};
  }
  for (auto& [g, c] : credit)
    c.group = g;
  report.groups = sorted_groups(credit);
  return report;
}

}  // namespace waymark::outcomes
