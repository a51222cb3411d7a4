// Attribution models against figures worked out by hand (in the comments).
#include <gtest/gtest.h>

#include <random>

#include "waymark/outcomes/attribution.hpp"

using namespace waymark;
using namespace waymark::outcomes;

namespace {

constexpr Millis kHour = 3600 * 1000;
constexpr Millis kBase = 1'790'000'000'000;  // an instant in 2026

Touch touch(std::string id, std::string customer, std::string channel, Millis at, std::string journey = "j1",
            std::string step = "s1", std::string tmpl = "t1") {
  Touch t;
  t.delivery_id = std::move(id);
  t.customer = std::move(customer);
  t.channel = std::move(channel);
  t.journey = std::move(journey);
  t.version = 1;
  t.step = std::move(step);
  t.template_id = std::move(tmpl);
  t.at = at;
  return t;
}

Conversion conversion(std::string customer, Millis at, double value) {
  return Conversion{std::move(customer), "Order Completed", value, at};
}

AttributionQuery query(Model m, GroupBy by = GroupBy::channel) {
  AttributionQuery q;
  q.model = m;
  q.by = by;
  q.from = kBase;
  q.to = kBase + 100 * kHour;
  return q;
}

AttributionReport run(const std::vector<Touch>& ts, const std::vector<Conversion>& cs, const AttributionQuery& q) {
  auto r = attribute(ts, cs, q);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : AttributionReport{};
}

// Expects exactly these groups (name, credited conversions, credited value).
void expect_groups(const AttributionReport& r, const std::vector<GroupCredit>& want) {
  ASSERT_EQ(r.groups.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.groups[i].group, want[i].group);
    EXPECT_NEAR(r.groups[i].conversions, want[i].conversions, 1e-12) << want[i].group;
    EXPECT_NEAR(r.groups[i].value, want[i].value, 1e-9) << want[i].group;
  }
}

// u1: email 1h, sms 2h, push 3h, webhook 4h, then an order of 100 at 5h.
std::vector<Touch> four_touches() {
  return {touch("d3", "u1", "push", kBase + 3 * kHour), touch("d1", "u1", "email", kBase + 1 * kHour),
          touch("d4", "u1", "webhook", kBase + 4 * kHour), touch("d2", "u1", "sms", kBase + 2 * kHour)};
}
const std::vector<Conversion> kOneOrder = {conversion("u1", kBase + 5 * kHour, 100)};

}  // namespace

TEST(Attribution, FirstGivesAllCreditToTheEarliestTouch) {
  const auto r = run(four_touches(), kOneOrder, query(Model::first));
  EXPECT_EQ(r.conversions, 1);
  EXPECT_EQ(r.unattributed, 0);
  expect_groups(r, {{"email", 1, 100}});
}

TEST(Attribution, LastGivesAllCreditToTheLatestTouch) {
  expect_groups(run(four_touches(), kOneOrder, query(Model::last)), {{"webhook", 1, 100}});
}

TEST(Attribution, LinearSharesEqually) {
  // 4 touches: 1/4 each, 100/4 = 25 of value each.
  expect_groups(run(four_touches(), kOneOrder, query(Model::linear)),
                {{"email", 0.25, 25}, {"push", 0.25, 25}, {"sms", 0.25, 25}, {"webhook", 0.25, 25}});
}

TEST(Attribution, PositionGivesFortyFirstFortyLastAndSplitsTwentyOverTheMiddle) {
  // first email 0.4, last webhook 0.4, middle sms and push 0.2 / 2 = 0.1 each.
  expect_groups(run(four_touches(), kOneOrder, query(Model::position)),
                {{"email", 0.4, 40}, {"push", 0.1, 10}, {"sms", 0.1, 10}, {"webhook", 0.4, 40}});
}

TEST(Attribution, PositionWithTwoTouchesIsFiftyFifty) {
  const std::vector<Touch> ts = {touch("d1", "u1", "email", kBase + kHour), touch("d2", "u1", "sms", kBase + 2 * kHour)};
  expect_groups(run(ts, {conversion("u1", kBase + 3 * kHour, 10)}, query(Model::position)),
                {{"email", 0.5, 5}, {"sms", 0.5, 5}});
}

TEST(Attribution, OneTouchGetsEverythingInEveryModel) {
  const std::vector<Touch> ts = {touch("d1", "u1", "email", kBase + kHour)};
  for (Model m : {Model::first, Model::last, Model::linear, Model::time_decay, Model::position, Model::markov})
    expect_groups(run(ts, {conversion("u1", kBase + 3 * kHour, 7)}, query(m)), {{"email", 1, 7}});
}

TEST(Attribution, TimeDecayHalvesTheWeightPerHalfLife) {
  // Half-life 1 day; email 2 days before the order: 2^-2 = 1/4; sms 1 day
  // before: 2^-1 = 1/2. Normalised: email 0.25/0.75 = 1/3, sms 2/3; of 90:
  // 30 and 60.
  const Millis order = kBase + 60 * kHour;
  const std::vector<Touch> ts = {touch("d1", "u1", "email", order - 48 * kHour),
                                 touch("d2", "u1", "sms", order - 24 * kHour)};
  auto q = query(Model::time_decay);
  q.half_life = 24 * kHour;
  expect_groups(run(ts, {conversion("u1", order, 90)}, q), {{"email", 1.0 / 3, 30}, {"sms", 2.0 / 3, 60}});
}

TEST(Attribution, TimeDecayWithTouchesManyHalfLivesOldStillSumsToOne) {
  // Half-life 1 ms, touches 2 and 1 days old: 2^-172800000 and 2^-86400000
  // both underflow to 0 in a double. Relative to the newest touch the weights
  // are 2^-86400000 ≈ 0 and 1: sms gets the whole conversion and its value.
  const Millis order = kBase + 60 * kHour;
  const std::vector<Touch> ts = {touch("d1", "u1", "email", order - 48 * kHour),
                                 touch("d2", "u1", "sms", order - 24 * kHour)};
  auto q = query(Model::time_decay);
  q.half_life = 1;
  expect_groups(run(ts, {conversion("u1", order, 90)}, q), {{"sms", 1, 90}});
}

TEST(Attribution, TiesInTimeAreOrderedByDeliveryId) {
  // Both at 1h: (at, delivery_id) puts "a" (sms) first and "b" (email) last,
  // whatever the input order.
  const std::vector<Touch> ts = {touch("b", "u1", "email", kBase + kHour), touch("a", "u1", "sms", kBase + kHour)};
  const std::vector<Conversion> cs = {conversion("u1", kBase + 2 * kHour, 1)};
  expect_groups(run(ts, cs, query(Model::first)), {{"sms", 1, 1}});
  expect_groups(run(ts, cs, query(Model::last)), {{"email", 1, 1}});
}

TEST(Attribution, LookbackIsInclusiveBackAndExcludesTheConversionInstant) {
  // Lookback 1 day before an order at 50h: the touch at 50h - 25h is out, at
  // exactly 50h - 24h is in, at 49h is in, at 50h (same instant) and at 51h
  // are out. Linear over the two: 1/2 each of 8.
  const Millis order = kBase + 50 * kHour;
  const std::vector<Touch> ts = {
      touch("d1", "u1", "push", order - 25 * kHour), touch("d2", "u1", "email", order - 24 * kHour),
      touch("d3", "u1", "sms", order - kHour),       touch("d4", "u1", "webhook", order),
      touch("d5", "u1", "push", order + kHour),      touch("d6", "u2", "push", order - kHour)};
  auto q = query(Model::linear);
  q.lookback = 24 * kHour;
  expect_groups(run(ts, {conversion("u1", order, 8)}, q), {{"email", 0.5, 4}, {"sms", 0.5, 4}});
}

TEST(Attribution, ConversionsWithoutTouchesAreUnattributedAndOutOfRangeOnesUncounted) {
  // u1's order is credited to email; u2 has no touch (unattributed); u1's
  // order at `to` and the one before `from` are outside [from, to).
  const std::vector<Touch> ts = {touch("d1", "u1", "email", kBase - 2 * kHour)};
  auto q = query(Model::last);
  const std::vector<Conversion> cs = {conversion("u1", kBase + kHour, 5), conversion("u2", kBase + kHour, 3),
                                      conversion("u1", q.to, 11), conversion("u1", kBase - kHour, 13)};
  const auto r = run(ts, cs, q);
  EXPECT_EQ(r.conversions, 2);
  EXPECT_EQ(r.unattributed, 1);
  expect_groups(r, {{"email", 1, 5}});
}

TEST(Attribution, EachConversionLooksBackOnItsOwn) {
  // email 1h, order A (10) at 2h, sms 3h, order B (20) at 4h. Linear:
  // A -> email 1 (value 10); B -> email 1/2, sms 1/2 (value 10 each).
  // email 1.5 conversions, 20 value; sms 0.5, 10.
  const std::vector<Touch> ts = {touch("d1", "u1", "email", kBase + kHour), touch("d2", "u1", "sms", kBase + 3 * kHour)};
  const std::vector<Conversion> cs = {conversion("u1", kBase + 2 * kHour, 10), conversion("u1", kBase + 4 * kHour, 20)};
  const auto r = run(ts, cs, query(Model::linear));
  EXPECT_EQ(r.conversions, 2);
  expect_groups(r, {{"email", 1.5, 20}, {"sms", 0.5, 10}});
}

TEST(Attribution, GroupsByJourneyStepAndTemplate) {
  // Two touches (linear, 1/2 each of 6): j1/welcome/t-hello and j2/nudge/t-promo.
  const std::vector<Touch> ts = {touch("d1", "u1", "email", kBase + kHour, "j1", "welcome", "t-hello"),
                                 touch("d2", "u1", "email", kBase + 2 * kHour, "j2", "nudge", "t-promo")};
  const std::vector<Conversion> cs = {conversion("u1", kBase + 3 * kHour, 6)};
  expect_groups(run(ts, cs, query(Model::linear, GroupBy::journey)), {{"j1", 0.5, 3}, {"j2", 0.5, 3}});
  expect_groups(run(ts, cs, query(Model::linear, GroupBy::step)), {{"j1/welcome", 0.5, 3}, {"j2/nudge", 0.5, 3}});
  expect_groups(run(ts, cs, query(Model::linear, GroupBy::template_id)),
                {{"t-hello", 0.5, 3}, {"t-promo", 0.5, 3}});
  expect_groups(run(ts, cs, query(Model::linear, GroupBy::channel)), {{"email", 1, 6}});
}

TEST(Attribution, MarkovSharesByRemovalEffect) {
  // Paths (lookback 1 day, to = base + 48h):
  //   u1: A, B -> conversion (100)   u2: B -> conversion (50)
  //   u3: B -> null (touch in [to - 1d, to), no conversion in the range)
  //   u4: B at base - 1h is before to - 1d: no path.
  // Transitions: start->A 1/3, start->B 2/3; A->B 1; B->conv 2/3, B->null 1/3.
  // P(conv) = 1/3 * 2/3 + 2/3 * 2/3 = 6/9.
  // Without A: 4/9 -> effect 1 - 4/6 = 1/3. Without B: 0 -> effect 1.
  // Shares A 1/4, B 3/4 of 2 conversions and 150 of value:
  // A 0.5 and 37.5, B 1.5 and 112.5.
  // (Without u3's path the shares would be 1/3 and 2/3; with u4's, 1/5, 4/5.)
  const std::vector<Touch> ts = {
      touch("d1", "u1", "A", kBase + 1 * kHour), touch("d2", "u1", "B", kBase + 2 * kHour),
      touch("d3", "u2", "B", kBase + 1 * kHour), touch("d4", "u3", "B", kBase + 30 * kHour),
      touch("d5", "u4", "B", kBase - 1 * kHour)};
  const std::vector<Conversion> cs = {conversion("u1", kBase + 3 * kHour, 100),
                                      conversion("u2", kBase + 2 * kHour, 50)};
  auto q = query(Model::markov);
  q.to = kBase + 48 * kHour;
  q.lookback = 24 * kHour;
  const auto r = run(ts, cs, q);
  EXPECT_EQ(r.conversions, 2);
  expect_groups(r, {{"A", 0.5, 37.5}, {"B", 1.5, 112.5}});
}

TEST(Attribution, MarkovSolvesChainsWithLoops) {
  // Paths: A,B,A -> conv; B -> null; C -> conv; A -> null.
  // start: A 2/4, B 1/4, C 1/4. A: ->B 1/3, ->conv 1/3, ->null 1/3.
  // B: ->A 1/2, ->null 1/2. C: ->conv 1.
  // x_A = x_B/3 + 1/3, x_B = x_A/2  =>  x_A = 2/5, x_B = 1/5, x_C = 1.
  // P = 1/2 * 2/5 + 1/4 * 1/5 + 1/4 = 1/2.
  // Without A: x_B = 0, P = 1/4 -> effect 1/2.
  // Without B: x_A = 1/3, P = 1/6 + 1/4 = 5/12 -> effect 1 - 5/6 = 1/6.
  // Without C: P = 1/5 + 1/20 = 1/4 -> effect 1/2.
  // Sum 7/6: shares A 3/7, B 1/7, C 3/7.
  const std::vector<Path> paths = {{{"A", "B", "A"}, true}, {{"B"}, false}, {{"C"}, true}, {{"A"}, false}};
  auto shares = markov_shares(paths);
  ASSERT_TRUE(shares.ok());
  ASSERT_EQ(shares->size(), 3u);
  EXPECT_EQ((*shares)[0].first, "A");
  EXPECT_NEAR((*shares)[0].second, 3.0 / 7, 1e-12);
  EXPECT_EQ((*shares)[1].first, "B");
  EXPECT_NEAR((*shares)[1].second, 1.0 / 7, 1e-12);
  EXPECT_EQ((*shares)[2].first, "C");
  EXPECT_NEAR((*shares)[2].second, 3.0 / 7, 1e-12);
}

TEST(Attribution, MarkovWithoutConvertingPathsSharesNothing) {
  auto shares = markov_shares({{{"A"}, false}});
  ASSERT_TRUE(shares.ok());
  EXPECT_TRUE(shares->empty());
}

TEST(Attribution, MarkovRefusesTooManyGroups) {
  std::vector<Path> paths;
  for (size_t i = 0; i <= kMarkovGroupsMax; ++i)
    paths.push_back({{"g" + std::to_string(i)}, true});
  auto shares = markov_shares(paths);
  ASSERT_FALSE(shares.ok());
  EXPECT_EQ(shares.error().code, "too_many_groups");
}

TEST(Attribution, RefusesBadQueries) {
  auto q = query(Model::last);
  q.to = q.from;
  EXPECT_EQ(attribute({}, {}, q).error().code, "bad_range");
  q = query(Model::last);
  q.lookback = 0;
  EXPECT_EQ(attribute({}, {}, q).error().code, "bad_lookback");
  q = query(Model::time_decay);
  q.half_life = -1;
  EXPECT_EQ(attribute({}, {}, q).error().code, "bad_half_life");
}

TEST(Attribution, ParsesModelAndGroupNames) {
  EXPECT_EQ(parse_model("time_decay"), Model::time_decay);
  EXPECT_EQ(parse_model("markov"), Model::markov);
  EXPECT_FALSE(parse_model("Markov").has_value());
  EXPECT_EQ(parse_group_by("template"), GroupBy::template_id);
  EXPECT_FALSE(parse_group_by("template_id").has_value());
}

TEST(Attribution, EveryModelHandsOutExactlyTheConversionsAndTheirValue) {
  // 50 customers, each touched at 0.5h and then at random on 4 channels; each
  // converts 1-3 times after 50h (seeded): nothing is unattributed, so every
  // model must credit all conversions and all value, whatever the paths.
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<Millis> early(kHour, 50 * kHour), late(50 * kHour, 99 * kHour);
  std::uniform_int_distribution<int> channel(0, 3), count(1, 3);
  const char* channels[] = {"email", "sms", "push", "webhook"};
  std::vector<Touch> ts;
  std::vector<Conversion> cs;
  double total_value = 0;
  for (int u = 0; u < 50; ++u) {
    const std::string customer = "u" + std::to_string(u);
    ts.push_back(touch(customer + "-0", customer, channels[channel(rng)], kBase + kHour / 2));
    for (int i = 1; i <= 5; ++i)
      ts.push_back(touch(customer + "-" + std::to_string(i), customer, channels[channel(rng)], kBase + early(rng)));
    for (int i = count(rng); i > 0; --i) {
      cs.push_back(conversion(customer, kBase + late(rng), 10.0 * i));
      total_value += 10.0 * i;
    }
  }
  for (Model m : {Model::first, Model::last, Model::linear, Model::time_decay, Model::position, Model::markov}) {
    const auto r = run(ts, cs, query(m));
    EXPECT_EQ(r.conversions, int64_t(cs.size()));
    EXPECT_EQ(r.unattributed, 0);
    double conversions = 0, value = 0;
    for (const auto& g : r.groups) {
      conversions += g.conversions;
      value += g.value;
    }
    EXPECT_NEAR(conversions, double(cs.size()), 1e-9) << int(m);
    EXPECT_NEAR(value, total_value, 1e-7) << int(m);
  }
}
