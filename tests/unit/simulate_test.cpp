// waymark simulate's loop (src/simulate/): small journeys, events by hand, and
// the deliveries, times and counts worked out by hand in each test.
#include "waymark/simulate/simulator.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "waymark/catalog.hpp"
#include "waymark/config.hpp"
#include "waymark/journeys_dir.hpp"
#include "waymark/simulate/compare.hpp"

namespace waymark::simulate {
namespace {

namespace json = boost::json;

Millis at(const char* rfc3339) { return parse_rfc3339(rfc3339).value(); }

constexpr const char* kWelcome = R"({"id":"welcome","channel":"email","subject":"Hi {{traits.first_name|there}}","body":"b"})";
constexpr const char* kReminder = R"({"id":"reminder","channel":"email","subject":"Still there?","body":"r"})";

/// Signed Up -> welcome -> wait 2d -> reminder -> exit.
constexpr const char* kOnboarding = R"({"id":"onboarding","name":"O","entry":{"event":"Signed Up"},"start":"welcome",
  "steps":{"welcome":{"type":"send","channel":"email","template":"welcome","next":"wait"},
           "wait":{"type":"wait","duration":"2d","next":"reminder"},
           "reminder":{"type":"send","channel":"email","template":"reminder","next":"done"},
           "done":{"type":"exit"}}})";

/// The same journey with no reminder: welcome -> exit.
constexpr const char* kOnboardingShort = R"({"id":"onboarding","name":"O","entry":{"event":"Signed Up"},"start":"welcome",
  "steps":{"welcome":{"type":"send","channel":"email","template":"welcome","next":"done"},
           "done":{"type":"exit"}}})";

/// The journeys_dir path: the config's channels, then the files seeded as the node does.
CatalogPtr load(const std::vector<const char*>& files, const char* config = "{}") {
  auto cfg = config_from_json(json::parse(config));
  EXPECT_TRUE(cfg) << cfg.error().message;
  std::vector<SeedFile> seed;
  for (size_t i = 0; i < files.size(); ++i)
    seed.push_back(SeedFile{"dir/f" + std::to_string(i) + ".json", json::parse(files[i])});
  auto seeded = seed_catalog(*base_catalog(*cfg), seed);
  EXPECT_TRUE(seeded) << seeded.error().message;
  return seeded ? seeded->catalog : nullptr;
}

std::string identify(const std::string& user, const std::string& ts, const std::string& traits) {
  return R"({"type":"identify","userId":")" + user + R"(","timestamp":")" + ts + R"(","traits":)" + traits + "}";
}
std::string track(const std::string& user, const std::string& event, const std::string& ts,
                  const std::string& props = "{}") {
  return R"({"type":"track","userId":")" + user + R"(","event":")" + event + R"(","timestamp":")" + ts +
         R"(","properties":)" + props + "}";
}

struct Sim {
  std::vector<Delivery> out;
  Simulator sim;
  explicit Sim(CatalogPtr cat, Options o = {}) : sim(std::move(cat), o, [this](const Delivery& d) { out.push_back(d); }) {}
  void feed(const std::string& line) {
    auto err = sim.feed_line(line);
    EXPECT_FALSE(err) << line << ": " << err->message;
  }
  json::object journey(const std::string& id) const { return sim.summary().at("journeys").at(id).as_object(); }
  int64_t step(const std::string& journey_id, const std::string& step, const std::string& counter) const {
    const auto j = journey(journey_id);
    const auto* s = j.at("steps").as_object().if_contains(step);
    const auto* n = s ? s->as_object().if_contains(counter) : nullptr;
    return n ? n->as_int64() : 0;
  }
};

TEST(Simulate, AWaitOfTwoDaysFiresAtItsVirtualTimeBetweenEvents) {
  Sim s(load({kWelcome, kReminder, kOnboarding}));
  s.feed(identify("u1", "2026-03-02T09:00:00Z", R"({"email":"u1@x.org","first_name":"Ada"})"));
  s.feed(track("u1", "Signed Up", "2026-03-02T10:00:00Z"));
  s.feed(identify("u2", "2026-03-03T10:00:00Z", R"({"email":"u2@x.org"})"));
  s.feed(track("u2", "Signed Up", "2026-03-03T10:00:00Z"));
  // u1's wait ends at 03-04T10:00, before this event: its reminder comes first.
  s.feed(track("u2", "Page Viewed", "2026-03-04T12:00:00Z"));
  EXPECT_EQ(s.sim.now(), at("2026-03-04T12:00:00Z"));
  s.sim.run_out();  // u2's wait ends at 03-05T10:00; then nothing is pending

  ASSERT_EQ(s.out.size(), 4u);
  const std::vector<std::tuple<std::string, std::string, const char*>> want = {
    {"u1", "welcome", "2026-03-02T10:00:00Z"}, {"u2", "welcome", "2026-03-03T10:00:00Z"},
    {"u1", "reminder", "2026-03-04T10:00:00Z"}, {"u2", "reminder", "2026-03-05T10:00:00Z"}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(s.out[i].customer, std::get<0>(want[i])) << i;
    EXPECT_EQ(s.out[i].step, std::get<1>(want[i])) << i;
    EXPECT_EQ(s.out[i].at, at(std::get<2>(want[i]))) << i;
  }
  EXPECT_EQ(s.out[0].content.at("subject"), json::value("Hi Ada"));
  EXPECT_EQ(s.out[1].to, "u2@x.org");
  // The §7 record, as the file provider writes it.
  const auto rec = s.out[2].to_json();
  EXPECT_EQ(rec.at("at"), json::value("2026-03-04T10:00:00.000Z"));
  EXPECT_EQ(rec.at("journey"), json::value("onboarding"));
  EXPECT_EQ(rec.at("key"), json::value(nullptr));

  EXPECT_EQ(s.sim.now(), at("2026-03-05T10:00:00Z"));
  EXPECT_EQ(s.sim.timers_fired(), 2);
  EXPECT_EQ(s.sim.timers_pending(), 0u);
  EXPECT_EQ(s.step("onboarding", "welcome", "sent"), 2);
  EXPECT_EQ(s.step("onboarding", "reminder", "sent"), 2);
  EXPECT_EQ(s.step("onboarding", "wait", "visited"), 2);
  EXPECT_EQ(s.journey("onboarding").at("entered"), json::value(2));
  EXPECT_EQ(s.journey("onboarding").at("exited").at("completed"), json::value(2));
  const auto summary = s.sim.summary();
  EXPECT_EQ(summary.at("events").at("applied"), json::value(5));
  EXPECT_EQ(summary.at("deliveries"), json::value(4));
  EXPECT_EQ(summary.at("start"), json::value("2026-03-02T09:00:00.000Z"));  // the first event's time
  EXPECT_EQ(summary.at("until"), json::value("2027-03-02T09:00:00.000Z"));  // start + 365 days
}

TEST(Simulate, UntilStopsTheClockWithTheTimerStillPending) {
  Options o;
  o.start = at("2026-03-02T00:00:00Z");
  o.until = at("2026-03-03T00:00:00Z");
  Sim s(load({kWelcome, kReminder, kOnboarding}), o);
  s.feed(identify("u1", "2026-03-02T09:00:00Z", R"({"email":"u1@x.org"})"));
  s.feed(track("u1", "Signed Up", "2026-03-02T10:00:00Z"));
  s.feed(track("u1", "Page Viewed", "2026-03-03T00:00:01Z"));  // after --until: not applied
  s.sim.run_out();
  ASSERT_EQ(s.out.size(), 1u);  // the reminder would be at 03-04T10:00
  EXPECT_EQ(s.sim.now(), at("2026-03-03T00:00:00Z"));
  EXPECT_EQ(s.sim.timers_pending(), 1u);
  EXPECT_EQ(s.sim.lines().after_until, 1);
  EXPECT_EQ(s.sim.lines().applied, 2);
}

TEST(Simulate, NoEventsLeavesTheClockAtTheStart) {
  Options o;
  o.fallback_start = at("2026-07-01T00:00:00Z");
  Sim s(load({kWelcome, kReminder, kOnboarding}), o);
  s.sim.run_out();
  EXPECT_EQ(s.sim.summary().at("start"), json::value("2026-07-01T00:00:00.000Z"));
  EXPECT_EQ(s.sim.summary().at("end"), json::value("2026-07-01T00:00:00.000Z"));
  EXPECT_EQ(s.sim.summary().at("until"), json::value("2027-07-01T00:00:00.000Z"));
}

TEST(Simulate, EventsWithoutTimestampTakeTheClockAndLateOnesApplyAtIt) {
  Options o;
  o.start = at("2026-05-01T08:00:00Z");
  Sim s(load({kWelcome, kReminder, kOnboarding}), o);
  s.feed(R"({"type":"identify","userId":"u1","traits":{"email":"u1@x.org"}})");
  s.feed(R"({"type":"track","userId":"u1","event":"Signed Up"})");  // at the start
  s.feed(identify("u2", "2026-05-01T09:00:00Z", R"({"email":"u2@x.org"})"));
  s.feed(track("u2", "Signed Up", "2026-05-01T07:00:00Z"));  // late: applied at 09:00
  ASSERT_EQ(s.out.size(), 2u);
  EXPECT_EQ(s.out[0].at, at("2026-05-01T08:00:00Z"));
  EXPECT_EQ(s.out[1].at, at("2026-05-01T09:00:00Z"));
  EXPECT_EQ(s.sim.lines().late, 1);
  s.sim.run_out();
  ASSERT_EQ(s.out.size(), 4u);
  EXPECT_EQ(s.out[2].at, at("2026-05-03T08:00:00Z"));  // 2 days after the clock's time
  EXPECT_EQ(s.out[3].at, at("2026-05-03T09:00:00Z"));  // 2 days after it was applied
}

TEST(Simulate, InvalidLinesAndDuplicatesAreCountedAndChangeNothing) {
  Sim s(load({kWelcome, kReminder, kOnboarding}));
  const std::string signup = R"({"type":"track","userId":"u1","messageId":"m1","event":"Signed Up",)"
                             R"("timestamp":"2026-03-02T10:00:00Z"})";
  s.feed(identify("u1", "2026-03-02T09:00:00Z", R"({"email":"u1@x.org"})"));
  s.feed(signup);
  s.feed(signup);  // same messageId, same customer: dropped
  auto bad = s.sim.feed_line(R"({"type":"track","userId":"u1"})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->code, "missing_field");
  EXPECT_TRUE(s.sim.feed_line("{not json"));
  EXPECT_FALSE(s.sim.feed_line("   \r"));  // blank: skipped, not counted
  EXPECT_EQ(s.out.size(), 1u);
  EXPECT_EQ(s.sim.lines().read, 5);
  EXPECT_EQ(s.sim.lines().invalid, 2);
  EXPECT_EQ(s.sim.lines().duplicate, 1);
  EXPECT_EQ(s.sim.lines().applied, 2);
  EXPECT_EQ(s.journey("onboarding").at("entered"), json::value(1));
}

TEST(Simulate, AnAliasMergesTheAnonymousCustomerAndItsTimerFiresUnderTheKnownOne) {
  Sim s(load({kWelcome, kReminder, kOnboarding}));
  s.feed(R"({"type":"track","anonymousId":"anon-7","event":"Signed Up","timestamp":"2026-03-02T10:00:00Z"})");
  s.feed(identify("u9", "2026-03-02T11:00:00Z", R"({"email":"u9@x.org"})"));
  s.feed(R"({"type":"alias","previousId":"anon-7","userId":"u9","timestamp":"2026-03-02T12:00:00Z"})");
  // After the alias, the anonymous id routes to u9.
  s.feed(R"({"type":"track","anonymousId":"anon-7","event":"Page Viewed","timestamp":"2026-03-02T13:00:00Z"})");
  s.sim.run_out();
  // welcome was suppressed (no address yet); the reminder goes to u9 at 03-04T10:00.
  ASSERT_EQ(s.out.size(), 1u);
  EXPECT_EQ(s.out[0].customer, "u9");
  EXPECT_EQ(s.out[0].to, "u9@x.org");
  EXPECT_EQ(s.out[0].at, at("2026-03-04T10:00:00Z"));
  EXPECT_EQ(s.journey("onboarding").at("steps").at("welcome").at("suppressed").at("no_address"), json::value(1));
  EXPECT_EQ(s.sim.customers(), 1u);
  EXPECT_EQ(s.sim.customer("anon-7"), nullptr);
  ASSERT_NE(s.sim.customer("u9"), nullptr);
  EXPECT_EQ(s.sim.customer("u9")->history.size(), 4u);  // all four events, the merged one included
}

TEST(Simulate, QuietHoursDeferAndTheFrequencyCapSuppresses) {
  constexpr const char* config = R"({"channels":{"email":{"provider":"file",
    "quiet_hours":{"start":"21:00","end":"08:00"},"frequency_cap":{"max":1,"per":"1d"}}}})";
  constexpr const char* second = R"({"id":"second","name":"S","entry":{"event":"Signed Up"},"start":"hello",
    "steps":{"hello":{"type":"send","channel":"email","template":"welcome","next":"done"},"done":{"type":"exit"}}})";
  Sim s(load({kWelcome, kReminder, kOnboarding, second}, config));
  s.feed(identify("u1", "2026-03-02T22:00:00Z", R"({"email":"u1@x.org"})"));
  s.feed(track("u1", "Signed Up", "2026-03-02T22:30:00Z"));  // in the window: both sends wait until 08:00
  EXPECT_TRUE(s.out.empty());
  s.sim.run_out();
  // 03-03T08:00: onboarding's welcome goes (instances in entry order), second's
  // is capped (1 per day); the reminder 2 days after 08:00 is past the window.
  ASSERT_EQ(s.out.size(), 2u);
  EXPECT_EQ(s.out[0].journey, "onboarding");
  EXPECT_EQ(s.out[0].step, "welcome");
  EXPECT_EQ(s.out[0].at, at("2026-03-03T08:00:00Z"));
  EXPECT_EQ(s.out[1].step, "reminder");
  EXPECT_EQ(s.out[1].at, at("2026-03-05T08:00:00Z"));
  EXPECT_EQ(s.step("onboarding", "welcome", "deferred"), 1);
  EXPECT_EQ(s.step("second", "hello", "deferred"), 1);
  EXPECT_EQ(s.journey("second").at("steps").at("hello").at("suppressed").at("frequency_cap"), json::value(1));
}

constexpr const char* kTemplateA = R"({"id":"ta","channel":"email","subject":"A","body":"a"})";
constexpr const char* kTemplateB = R"({"id":"tb","channel":"email","subject":"B","body":"b"})";
/// Signed Up -> split ab (a 50 / b 50) -> send ta | tb -> wait 1d -> exit; goal Order Completed within 7d.
constexpr const char* kPromo = R"({"id":"promo","name":"P","entry":{"event":"Signed Up"},"start":"ab",
  "goal":{"event":"Order Completed","within":"7d","value":"properties.revenue"},
  "steps":{"ab":{"type":"split","variants":[{"name":"a","weight":50,"next":"sa"},{"name":"b","weight":50,"next":"sb"}]},
           "sa":{"type":"send","channel":"email","template":"ta","next":"wait"},
           "sb":{"type":"send","channel":"email","template":"tb","next":"wait"},
           "wait":{"type":"wait","duration":"1d","next":"done"},
           "done":{"type":"exit"}}})";

TEST(Simulate, ASplitSendsEachCustomersVariantAndCountsItsArms) {
  Sim s(load({kTemplateA, kTemplateB, kPromo}));
  // Variants by XXH64("<customer>\x1fpromo\x1fab") % 100 < 50 (computed outside
  // the code under test): c1 41 a, c2 17 a, c4 1 a, c3 94 b, c7 80 b.
  for (const char* c : {"c1", "c2", "c3", "c4", "c7"}) {
    s.feed(identify(c, "2026-04-01T09:00:00Z", std::string(R"({"email":")") + c + R"(@x.org"})"));
    s.feed(track(c, "Signed Up", "2026-04-01T10:00:00Z"));
  }
  s.feed(track("c1", "Order Completed", "2026-04-01T12:00:00Z", R"({"revenue":10})"));
  s.feed(track("c3", "Order Completed", "2026-04-01T13:00:00Z", R"({"revenue":30})"));
  s.feed(track("c7", "Order Completed", "2026-04-01T14:00:00Z", R"({"revenue":50})"));
  s.feed(track("c4", "Order Completed", "2026-04-03T10:00:00Z", R"({"revenue":99})"));  // its instance ended 04-02
  s.sim.run_out();

  std::map<std::string, std::string> templates;
  for (const auto& d : s.out)
    templates[d.customer] = d.template_id;
  EXPECT_EQ(templates, (std::map<std::string, std::string>{
                         {"c1", "ta"}, {"c2", "ta"}, {"c3", "tb"}, {"c4", "ta"}, {"c7", "tb"}}));
  EXPECT_EQ(s.step("promo", "sa", "sent"), 3);
  EXPECT_EQ(s.step("promo", "sb", "sent"), 2);

  const auto results = s.journey("promo").at("results").as_object();
  const auto& arms = results.at("arms").as_array();
  ASSERT_EQ(arms.size(), 4u);
  auto num = [](const json::value& v) { return v.to_number<double>(); };
  // all (= treated, no holdout): 5 entered, 3 converted (c1, c3, c7), value 90.
  EXPECT_EQ(arms[0].at("arm"), json::value("all"));
  EXPECT_EQ(arms[0].at("entered"), json::value(5));
  EXPECT_EQ(arms[0].at("converted"), json::value(3));
  EXPECT_DOUBLE_EQ(num(arms[0].at("rate")), 0.6);
  EXPECT_DOUBLE_EQ(num(arms[0].at("value_per_entrant")), 18.0);
  EXPECT_EQ(arms[1].at("arm"), json::value("treated"));
  EXPECT_EQ(arms[1].at("entered"), json::value(5));
  // a: c1 c2 c4, only c1 converted in time (10); b: c3 c7 both (30 + 50).
  EXPECT_EQ(arms[2].at("arm"), json::value("ab:a"));
  EXPECT_EQ(arms[2].at("entered"), json::value(3));
  EXPECT_EQ(arms[2].at("converted"), json::value(1));
  EXPECT_DOUBLE_EQ(num(arms[2].at("value")), 10.0);
  EXPECT_TRUE(arms[2].at("uplift").is_null());  // the control
  EXPECT_EQ(arms[3].at("arm"), json::value("ab:b"));
  EXPECT_EQ(arms[3].at("entered"), json::value(2));
  EXPECT_EQ(arms[3].at("converted"), json::value(2));
  EXPECT_DOUBLE_EQ(num(arms[3].at("value")), 80.0);
  EXPECT_DOUBLE_EQ(num(arms[3].at("value_per_entrant")), 40.0);
  // b vs a: diff 1 - 1/3; unpooled se sqrt((1/3)(2/3)/3) = 0.27217 -> ci
  // [0.13323, 1.20010]; pooled p 3/5, se sqrt(0.6*0.4*(1/3+1/2)) = 0.44721,
  // z = 1.49071, two-sided p = 0.13604.
  const auto& u = arms[3].at("uplift").as_object();
  EXPECT_EQ(u.at("vs"), json::value("ab:a"));
  EXPECT_NEAR(num(u.at("diff")), 0.666667, 1e-5);
  EXPECT_NEAR(num(u.at("ci").at(0)), 0.133232, 1e-5);
  EXPECT_NEAR(num(u.at("ci").at(1)), 1.200101, 1e-5);
  EXPECT_NEAR(num(u.at("p")), 0.136037, 1e-5);
}

TEST(Simulate, AHoldoutGetsNoMessageAndIsTheControlOfTreatedAndVariants) {
  std::string promo = kPromo;
  promo.replace(promo.find(R"("start":"ab",)"), 13, R"("start":"ab","holdout":{"percent":50},)");
  Sim s(load({kTemplateA, kTemplateB, promo.c_str()}));
  // Held out at 50 % when XXH3-64("holdout\x1f<customer>\x1fpromo", seed
  // 0x686f6c646f7574) % 10000 < 5000 (computed outside the code under test):
  // c1 1536 and c4 1695 held out; c2 9559, c3 8596, c7 7177 treated, and of
  // those c2 takes a, c3 and c7 take b (see the test above).
  for (const char* c : {"c1", "c2", "c3", "c4", "c7"}) {
    s.feed(identify(c, "2026-04-01T09:00:00Z", std::string(R"({"email":")") + c + R"(@x.org"})"));
    s.feed(track(c, "Signed Up", "2026-04-01T10:00:00Z"));
  }
  s.feed(track("c1", "Order Completed", "2026-04-01T12:00:00Z", R"({"revenue":10})"));
  s.feed(track("c3", "Order Completed", "2026-04-01T13:00:00Z", R"({"revenue":30})"));
  s.feed(track("c7", "Order Completed", "2026-04-01T14:00:00Z", R"({"revenue":50})"));
  s.sim.run_out();
  std::map<std::string, std::string> templates;
  for (const auto& d : s.out)
    templates[d.customer] = d.template_id;
  EXPECT_EQ(templates, (std::map<std::string, std::string>{{"c2", "ta"}, {"c3", "tb"}, {"c7", "tb"}}));

  const auto arms = s.journey("promo").at("results").at("arms").as_array();
  auto num = [](const json::value& v) { return v.to_number<double>(); };
  std::map<std::string, std::tuple<int64_t, int64_t, double>> got;
  for (const auto& a : arms)
    got[std::string(a.at("arm").as_string())] = {a.at("entered").as_int64(), a.at("converted").as_int64(),
                                                  num(a.at("value"))};
  const std::map<std::string, std::tuple<int64_t, int64_t, double>> want = {
    {"all", {5, 3, 90}}, {"treated", {3, 2, 80}}, {"holdout", {2, 1, 10}}, {"ab:a", {1, 0, 0}}, {"ab:b", {2, 2, 80}}};
  EXPECT_EQ(got, want);
  // treated vs holdout: diff 2/3 - 1/2 = 0.166667; unpooled se
  // sqrt((2/3)(1/3)/3 + (1/2)(1/2)/2) = 0.446178 -> ci [-0.707825, 1.041158];
  // pooled 3/5, se 0.447214, z 0.372678, p 0.709388.
  const auto& u = arms[1].at("uplift").as_object();
  EXPECT_EQ(u.at("vs"), json::value("holdout"));
  EXPECT_NEAR(num(u.at("diff")), 0.166667, 1e-5);
  EXPECT_NEAR(num(u.at("ci").at(0)), -0.707825, 1e-5);
  EXPECT_NEAR(num(u.at("ci").at(1)), 1.041158, 1e-5);
  EXPECT_NEAR(num(u.at("p")), 0.709388, 1e-5);
  EXPECT_EQ(arms.back().at("uplift").at("vs"), json::value("holdout"));  // variants too, with a holdout
}

TEST(Simulate, CompareMatchesDeliveriesAndShowsTheCountersThatDiffer) {
  std::vector<std::pair<Side, Delivery>> diffs;
  Comparison cmp(load({kWelcome, kReminder, kOnboarding}), load({kWelcome, kReminder, kOnboardingShort}), Options{},
                 [&](Side side, const Delivery& d) { diffs.emplace_back(side, d); });
  for (const auto& line : {identify("u1", "2026-03-02T09:00:00Z", R"({"email":"u1@x.org"})"),
                           track("u1", "Signed Up", "2026-03-02T10:00:00Z"),
                           identify("u2", "2026-03-02T11:00:00Z", R"({"email":"u2@x.org"})"),
                           track("u2", "Signed Up", "2026-03-02T11:00:00Z")})
    EXPECT_FALSE(cmp.feed_line(line));
  cmp.run_out();
  // Both welcome mails in both; the reminders (03-04T10:00, 03-04T11:00) only in A.
  EXPECT_EQ(cmp.matched(), 2);
  EXPECT_EQ(cmp.only_a(), 2);
  EXPECT_EQ(cmp.only_b(), 0);
  ASSERT_EQ(diffs.size(), 2u);
  EXPECT_EQ(diffs[0].first, Side::a);
  EXPECT_EQ(diffs[0].second.step, "reminder");
  EXPECT_EQ(diffs[0].second.at, at("2026-03-04T10:00:00Z"));
  EXPECT_EQ(diffs[1].second.customer, "u2");

  const auto s = cmp.summary();
  std::map<std::string, std::pair<json::value, json::value>> rows;
  for (const auto& r : s.at("differences").at("counters").as_array())
    rows[std::string(r.at("counter").as_string())] = {r.at("a"), r.at("b")};
  EXPECT_EQ(rows.at("steps.reminder.sent"), std::make_pair(json::value(2), json::value(nullptr)));
  EXPECT_EQ(rows.count("steps.welcome.sent"), 0u) << "equal counters are not listed";
}

}  // namespace
}  // namespace waymark::simulate
