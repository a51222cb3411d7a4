// Streaming attribution: rule-based credit summed conversion by conversion
// (attribute() over one conversion at a time), Markov as transition counts.
#include "waymark/outcomes/attribution_stream.hpp"

#include <algorithm>
#include <set>

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
