// Streaming attribution: rule-based credit summed conversion by conversion
// (attribute() over one conversion at a time), Markov as transition counts.
#include "waymark/outcomes/attribution_stream.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>

namespace waymark::outcomes {

std::string group_of(const Touch& t, GroupBy by) {
  switch (by) {
    case GroupBy::journey: return t.journey;
    case GroupBy::channel: return t.channel;
    case GroupBy::step: return t.journey + "/" + t.step;
    case GroupBy::template_id: return t.template_id;
  }
  return t.channel;
}

void add_path(MarkovCounts& counts, const std::vector<std::string>& groups, bool converted) {
  if (groups.empty())
    return;
  std::string from;
  for (const auto& g : groups) {
    counts[{from, g}] += 1;
    from = g;
  }
  counts[{from, converted ? kMarkovConversion : kMarkovNull}] += 1;
}

namespace {

/// The groups of the touches with from <= at < to, ordered by (at, delivery_id).
std::vector<std::string> path_of(const std::vector<Touch>& touches, Millis from, Millis to, GroupBy by) {
  std::vector<const Touch*> in;
  for (const auto& t : touches)
    if (t.at >= from && t.at < to)
      in.push_back(&t);
  std::sort(in.begin(), in.end(), [](const Touch* a, const Touch* b) {
    return std::tie(a->at, a->delivery_id) < std::tie(b->at, b->delivery_id);
  });
  std::vector<std::string> groups;
  for (const Touch* t : in)
    groups.push_back(group_of(*t, by));
  return groups;
}

}  // namespace

void AttributionStream::add_conversion(const Conversion& c, const std::vector<Touch>& touches) {
  if (c.at < q_.from || c.at >= q_.to)
    return;
  ++conversions_;
  const auto groups = path_of(touches, c.at - q_.lookback, c.at, q_.by);
  if (groups.empty()) {
    ++unattributed_;
    return;
  }
  if (q_.model == Model::markov) {
    add_path(transitions_, groups, true);
    attributed_value_ += c.value;
    return;
  }
  auto one = attribute(touches, {c}, q_);
  if (!one)
    return;  // the query was validated before the stream started
  for (const auto& g : one->groups) {
    auto& sum = credit_[g.group];
    sum.group = g.group;
    sum.conversions += g.conversions;
    sum.value += g.value;
  }
}

void AttributionStream::add_non_converting(const std::vector<Touch>& touches) {
  if (q_.model == Model::markov)
    add_path(transitions_, path_of(touches, q_.to - q_.lookback, q_.to, q_.by), false);
}

void AttributionStream::merge(const AttributionStream& o) {
  conversions_ += o.conversions_;
  unattributed_ += o.unattributed_;
  for (const auto& [g, c] : o.credit_) {
    auto& sum = credit_[g];
    sum.group = g;
    sum.conversions += c.conversions;
    sum.value += c.value;
  }
  for (const auto& [k, n] : o.transitions_)
    transitions_[k] += n;
  attributed_value_ += o.attributed_value_;
}

boost::json::object AttributionStream::partial_json() const {
  boost::json::array credit, transitions;
  for (const auto& [g, c] : credit_)
    credit.push_back(boost::json::array{boost::json::string(g), c.conversions, c.value});
  for (const auto& [k, n] : transitions_)
    transitions.push_back(boost::json::array{boost::json::string(k.first), boost::json::string(k.second), n});
  return {{"conversions", conversions_},
          {"unattributed", unattributed_},
          {"credit", std::move(credit)},
          {"transitions", std::move(transitions)},
          {"attributed_value", attributed_value_}};
}

namespace {

/// A JSON number as a double (integers too).
std::optional<double> number(const boost::json::value& v) {
  if (v.is_double())
    return v.get_double();
  if (v.is_int64())
    return double(v.get_int64());
  if (v.is_uint64())
    return double(v.get_uint64());
  return std::nullopt;
}

/// Rows [string, string|number, number] of a partial's array, or nullopt.
using Row = std::tuple<std::string, boost::json::value, double>;
std::optional<std::vector<Row>> rows(const boost::json::object& o, const char* name, bool second_is_string) {
  auto* a = o.if_contains(name) ? o.at(name).if_array() : nullptr;
  if (!a)
    return std::nullopt;
  std::vector<Row> out;
  for (const auto& r : *a) {
    auto* t = r.if_array();
    if (!t || t->size() != 3 || !(*t)[0].is_string() || !number((*t)[2]) ||
        (second_is_string ? !(*t)[1].is_string() : !number((*t)[1])))
      return std::nullopt;
    out.emplace_back(std::string((*t)[0].get_string()), (*t)[1], *number((*t)[2]));
  }
  return out;
}

}  // namespace

bool AttributionStream::merge_partial(const boost::json::value& v) {
  auto* o = v.if_object();
  if (!o)
    return false;
  auto credit = rows(*o, "credit", false);
  auto transitions = rows(*o, "transitions", true);
  auto* conversions = o->if_contains("conversions");
  auto* unattributed = o->if_contains("unattributed");
  auto* value = o->if_contains("attributed_value");
  if (!credit || !transitions || !conversions || !conversions->is_int64() || !unattributed ||
      !unattributed->is_int64() || !value || !number(*value))
    return false;
  AttributionStream part(q_);
  part.conversions_ = conversions->get_int64();
  part.unattributed_ = unattributed->get_int64();
  part.attributed_value_ = *number(*value);
  for (auto& [g, n, val] : *credit)
    part.credit_[g] = GroupCredit{g, *number(n), val};
  for (auto& [from, to, n] : *transitions)
    part.transitions_[{from, std::string(to.get_string())}] += n;
  merge(part);
  return true;
}

Result<AttributionReport> AttributionStream::report() const {
  AttributionReport r;
  r.conversions = conversions_;
  r.unattributed = unattributed_;
  if (q_.model != Model::markov) {
    for (const auto& [g, c] : credit_)
      if (c.conversions > 0)
        r.groups.push_back(c);
    return r;
  }
  auto shares = markov_shares(transitions_);
  if (!shares)
    return shares.error();
  const double attributed = double(conversions_ - unattributed_);
  for (const auto& [g, share] : *shares)
    if (share > 0)
      r.groups.push_back(GroupCredit{g, share * attributed, share * attributed_value_});
  return r;
}

}  // namespace waymark::outcomes
