// Streaming attribution (include/waymark/outcomes/attribution_stream.hpp):
// fed conversion by conversion, and split over two partial streams that are
// merged, it gives the figures of attribute() over the whole lists (which
// tests/unit/outcomes_attribution_test.cpp checks against hand-worked values);
// Markov over counted transitions equals Markov over the paths.
#include <gtest/gtest.h>

#include "waymark/outcomes/attribution_stream.hpp"

namespace waymark::outcomes {
namespace {

constexpr Millis kH = 3600 * 1000;

Touch touch(const std::string& customer, const std::string& channel, Millis at, const std::string& id) {
  return Touch{id, customer, channel, "j", 1, channel + "_step", "t_" + channel, "", at};
}

struct Scenario {
  std::vector<Touch> touches;
  std::vector<Conversion> conversions;
  Scenario() {
    // a: email, sms, email then converts 100; b: sms then converts 40 twice
    // (each looks back on its own); c: push only, no conversion; d: converts
    // with no touch; e: a tie at one instant, converts 10.
    touches = {touch("a", "email", 1 * kH, "d1"), touch("a", "sms", 2 * kH, "d2"), touch("a", "email", 3 * kH, "d3"),
               touch("b", "sms", 1 * kH, "d4"),   touch("c", "push", 2 * kH, "d5"), touch("c", "email", 3 * kH, "d6"),
               touch("e", "sms", 5 * kH, "d8"),   touch("e", "email", 5 * kH, "d7")};
    conversions = {{"a", "Order Completed", 100, 4 * kH}, {"b", "Order Completed", 40, 2 * kH},
                   {"b", "Order Completed", 40, 6 * kH},  {"d", "Order Completed", 5, 3 * kH},
                   {"e", "Order Completed", 10, 6 * kH}};
  }
  std::vector<Touch> of(const std::string& customer) const {
    std::vector<Touch> out;
    for (auto& t : touches)
      if (t.customer == customer)
        out.push_back(t);
    return out;
  }
};

/// The query both merge tests ask of the scenario.
AttributionQuery scenario_query(Model m) {
  AttributionQuery q;
  q.model = m;
  q.from = 0;
  q.to = 10 * kH;
  q.lookback = 5 * kH;
  q.half_life = 1 * kH;
  return q;
}

/// Two partial streams (customers a, b | the rest), merged.
AttributionStream streamed(const Scenario& s, const AttributionQuery& q) {
  AttributionStream left(q), right(q);
  for (auto& c : s.conversions)
    (c.customer < "c" ? left : right).add_conversion(c, s.of(c.customer));
  right.add_non_converting(s.of("c"));
  left.merge(right);
  return left;
}

TEST(AttributionStream, MergedPartialStreamsEqualTheWholeForEveryModel) {
  Scenario s;
  for (Model m : {Model::first, Model::last, Model::linear, Model::time_decay, Model::position, Model::markov}) {
    const AttributionQuery q = scenario_query(m);
    auto whole = attribute(s.touches, s.conversions, q);
    auto parts = streamed(s, q).report();
    ASSERT_TRUE(whole && parts);
    EXPECT_EQ(parts->conversions, whole->conversions);
    EXPECT_EQ(parts->unattributed, whole->unattributed);
    ASSERT_EQ(parts->groups.size(), whole->groups.size()) << int(m);
    double sum = 0;
    for (size_t i = 0; i < whole->groups.size(); ++i) {
      EXPECT_EQ(parts->groups[i].group, whole->groups[i].group);
      EXPECT_NEAR(parts->groups[i].conversions, whole->groups[i].conversions, 1e-12) << int(m);
      EXPECT_NEAR(parts->groups[i].value, whole->groups[i].value, 1e-9) << int(m);
      sum += parts->groups[i].conversions;
    }
    EXPECT_NEAR(sum, double(whole->conversions - whole->unattributed), 1e-9);  // credits of each sum to 1
  }
}

TEST(AttributionStream, PartialsSentAsJsonMergeToTheWholeForEveryModel) {
  // What cluster members do: each accumulates its customers, the member the
  // client asked merges their partial_json() texts into its own stream.
  Scenario s;
  for (Model m : {Model::first, Model::last, Model::linear, Model::time_decay, Model::position, Model::markov}) {
    const AttributionQuery q = scenario_query(m);
    AttributionStream mine(q), member2(q), member3(q);
    for (auto& c : s.conversions)
      (c.customer == "a" ? mine : c.customer == "b" ? member2 : member3).add_conversion(c, s.of(c.customer));
    member3.add_non_converting(s.of("c"));
    for (auto* part : {&member2, &member3})
      ASSERT_TRUE(mine.merge_partial(boost::json::parse(boost::json::serialize(part->partial_json()))));
    auto whole = attribute(s.touches, s.conversions, q);
    auto merged = mine.report();
    ASSERT_TRUE(whole && merged) << int(m);
    EXPECT_EQ(merged->conversions, 5);
    EXPECT_EQ(merged->unattributed, 1);  // d
    ASSERT_EQ(merged->groups.size(), whole->groups.size()) << int(m);
    for (size_t i = 0; i < whole->groups.size(); ++i) {
      EXPECT_EQ(merged->groups[i].group, whole->groups[i].group);
      EXPECT_NEAR(merged->groups[i].conversions, whole->groups[i].conversions, 1e-12) << int(m);
      EXPECT_NEAR(merged->groups[i].value, whole->groups[i].value, 1e-9) << int(m);
    }
  }
}

TEST(AttributionStream, AMalformedPartialAddsNothing) {
  AttributionQuery q;
  q.model = Model::linear;
  q.from = 0;
  q.to = 10 * kH;
  AttributionStream st(q);
  st.add_conversion({"x", "Order Completed", 9, 2 * kH}, {touch("x", "email", 1 * kH, "d1")});
  for (const char* bad : {R"([])", R"({"conversions":1})",
                          R"({"conversions":1,"unattributed":0,"credit":[["sms",1]],"transitions":[],"attributed_value":0})",
                          R"({"conversions":1,"unattributed":0,"credit":[["sms","1",2]],"transitions":[],"attributed_value":0})",
                          R"({"conversions":1,"unattributed":0,"credit":[],"transitions":[["a",1,1]],"attributed_value":0})"})
    EXPECT_FALSE(st.merge_partial(boost::json::parse(bad))) << bad;
  auto r = st.report();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->conversions, 1);
  ASSERT_EQ(r->groups.size(), 1u);
  EXPECT_DOUBLE_EQ(r->groups[0].conversions, 1);
}

TEST(AttributionStream, ConversionsOutsideTheRangeAndTouchesOutsideTheLookbackCountNothing) {
  AttributionQuery q;
  q.model = Model::linear;
  q.from = 2 * kH;
  q.to = 3 * kH;
  q.lookback = 30 * 60 * 1000;  // 30 min
  AttributionStream st(q);
  st.add_conversion({"x", "Order Completed", 9, 1 * kH}, {touch("x", "email", 1 * kH - 1, "d1")});  // before from
  st.add_conversion({"x", "Order Completed", 9, 3 * kH}, {touch("x", "email", 3 * kH - 1, "d2")});  // at to
  // in range; one touch 31 min before (out), one 30 min before (in: inclusive), one at the instant (out)
  st.add_conversion({"x", "Order Completed", 9, 2 * kH},
                    {touch("x", "sms", 2 * kH - 31 * 60 * 1000, "d3"), touch("x", "email", 2 * kH - 30 * 60 * 1000, "d4"),
                     touch("x", "push", 2 * kH, "d5")});
  auto r = st.report();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->conversions, 1);
  EXPECT_EQ(r->unattributed, 0);
  ASSERT_EQ(r->groups.size(), 1u);
  EXPECT_EQ(r->groups[0].group, "email");
  EXPECT_DOUBLE_EQ(r->groups[0].conversions, 1);
  EXPECT_DOUBLE_EQ(r->groups[0].value, 9);
}

TEST(AttributionStream, MarkovFromCountsMatchesHandWorkedShares) {
  // start->A->B->conv, start->A->null: from A half to B, half to null; B always converts.
  // P(conv) = 1/2; without A 0 (effect 1); without B 0 (effect 1): shares 1/2, 1/2.
  MarkovCounts counts;
  add_path(counts, {"A", "B"}, true);
  add_path(counts, {"A"}, false);
  add_path(counts, {}, true);  // empty: nothing
  EXPECT_EQ(counts.size(), 4u);
  auto shares = markov_shares(counts);
  ASSERT_TRUE(shares);
  ASSERT_EQ(shares->size(), 2u);
  EXPECT_DOUBLE_EQ((*shares)[0].second, 0.5);
  EXPECT_DOUBLE_EQ((*shares)[1].second, 0.5);
}

}  // namespace
}  // namespace waymark::outcomes
