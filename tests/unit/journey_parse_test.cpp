// Journey parsing and validation beyond validation_test.cpp: every step type's
// fields, optional wait_event timeout, nested unknown fields and wrong types
// with their paths, bounds on durations, ids and weights (PRODUCT.md §7).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "waymark/journey.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

ValidationContext context() {
  ValidationContext c;
  c.channels = {"email", "sms"};
  c.template_exists = [](const std::string& id) { return id == "welcome" || id == "text"; };
  c.template_channel = [](const std::string& id) { return id == "welcome" ? "email" : ""; };
  return c;
}

/// A valid journey around `steps` (start "a"), with `extra` top-level fields.
std::string journey_text(const std::string& steps, const std::string& extra = "") {
  return R"({"id":"j","entry":{"event":"Go"},)" + extra + R"("start":"a","steps":)" + steps + "}";
}

struct Parsed {
  JourneyPtr journey;
  std::vector<ValidationError> errors;
};

Parsed parse(const std::string& text) {
  Parsed p;
  p.journey = parse_journey(json::parse(text), context(), p.errors);
  return p;
}

std::string describe(const std::vector<ValidationError>& errors) {
  std::string all;
  for (const auto& e : errors)
    all += "\n  " + e.path + ": " + e.message;
  return all;
}

::testing::AssertionResult valid(const std::string& text) {
  Parsed p = parse(text);
  if (p.journey && p.errors.empty())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "rejected:" << describe(p.errors);
}

::testing::AssertionResult error_at(const std::string& text, const std::string& path) {
  Parsed p = parse(text);
  if (p.journey)
    return ::testing::AssertionFailure() << "accepted, expected an error at " << path;
  for (const auto& e : p.errors)
    if (e.path == path)
      return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no error at " << path << "; got:" << describe(p.errors);
}

const char* kExit = R"("z":{"type":"exit"})";
const char* kOnlyExit = R"({"a":{"type":"exit"}})";

std::string steps(const std::string& a) { return "{\"a\":" + a + "," + kExit + "}"; }

// ---- what a valid journey keeps ----------------------------------------------------

TEST(JourneyParse, TheProductExampleParsesWithEveryFieldKept) {
  ValidationContext ctx;
  ctx.channels = {"email", "push", "sms"};
  std::vector<ValidationError> errors;
  auto j = parse_journey(json::parse(R"({
    "id":"trial-onboarding","name":"Trial onboarding","owner":"lifecycle-team",
    "entry":{"event":"Trial Started","when":{"path":"traits.country","op":"eq","value":"DE"}},
    "key":"properties.trial_id","reentry":{"mode":"after_exit","cooldown":"7d"},
    "exit":[{"event":"Unsubscribed"},{"when":{"path":"traits.plan","op":"eq","value":"pro"}}],
    "goal":{"event":"Order Completed","within":"30d","value":"properties.revenue"},
    "timeout":"90d","start":"welcome",
    "steps":{
      "welcome":{"type":"send","channel":"email","template":"welcome","next":"wait1"},
      "wait1":{"type":"wait","duration":"2d","next":"check"},
      "check":{"type":"branch","cases":[{"when":{"count":{"event":"Feature Used","within":"7d"},"op":"gte","value":3},"next":"done"}],"default":"nudge"},
      "nudge":{"type":"wait_event","event":"Feature Used","timeout":"3d","next":"done","timeout_next":"ab"},
      "ab":{"type":"split","variants":[{"name":"push","weight":50,"next":"p"},{"name":"sms","weight":50,"next":"s"}]},
      "p":{"type":"send","channel":"push","template":"nudge_push","next":"tag"},
      "s":{"type":"send","channel":"sms","template":"nudge_sms","next":"tag"},
      "tag":{"type":"update","set":{"traits.stage":"nudged"},"next":"done"},
      "done":{"type":"exit"}}})"),
                         ctx, errors);
  ASSERT_TRUE(j) << describe(errors);
  EXPECT_EQ(j->name, "Trial onboarding");
  EXPECT_EQ(j->owner, "lifecycle-team");
  EXPECT_EQ(j->entry_event, "Trial Started");
  EXPECT_TRUE(j->entry_when);
  EXPECT_EQ(j->key_path, "properties.trial_id");
  EXPECT_EQ(j->reentry, ReentryMode::after_exit);
  EXPECT_EQ(j->cooldown, 7 * 86400000LL);
  ASSERT_EQ(j->exits.size(), 2u);
  EXPECT_EQ(j->exits[0].event, "Unsubscribed");
  EXPECT_TRUE(j->exits[1].when);
  ASSERT_TRUE(j->goal);
  EXPECT_EQ(j->goal->within, 30 * 86400000LL);
  EXPECT_EQ(j->goal->value_path, "properties.revenue");
  EXPECT_EQ(j->timeout, 90 * 86400000LL);
  EXPECT_EQ(j->steps.size(), 9u);
  const Step& nudge = j->steps.at("nudge");
  EXPECT_EQ(nudge.type, StepType::wait_event);
  EXPECT_EQ(nudge.timeout, 3 * 86400000LL);
  EXPECT_EQ(nudge.timeout_next, "ab");
  EXPECT_EQ(j->steps.at("ab").variants.at(1).name, "sms");
  EXPECT_EQ(j->steps.at("tag").set.at(0).first, "traits.stage");
}

TEST(JourneyParse, ReentryDefaultsToAfterExitAndEachModeParses) {
  Parsed plain = parse(journey_text(kOnlyExit));
  ASSERT_TRUE(plain.journey) << describe(plain.errors);
  EXPECT_EQ(plain.journey->reentry, ReentryMode::after_exit);
  EXPECT_EQ(plain.journey->cooldown, 0);
  const std::pair<const char*, ReentryMode> modes[] = {
    {"never", ReentryMode::never}, {"after_exit", ReentryMode::after_exit}, {"always", ReentryMode::always}};
  for (const auto& [name, mode] : modes) {
    Parsed p = parse(journey_text(kOnlyExit,
                                  std::string(R"("reentry":{"mode":")") + name + R"(","cooldown":"1h"},)"));
    ASSERT_TRUE(p.journey) << name << describe(p.errors);
    EXPECT_EQ(p.journey->reentry, mode) << name;
    EXPECT_EQ(p.journey->cooldown, 3600000) << name;
  }
}

TEST(JourneyParse, AnEntryByConditionAloneParses) {
  EXPECT_TRUE(valid(R"({"id":"j","entry":{"when":{"path":"traits.plan","op":"eq","value":"pro"}},
                        "start":"a","steps":{"a":{"type":"exit"}}})"));
}

// ---- wait_event ---------------------------------------------------------------------

TEST(JourneyParse, AWaitEventWithoutATimeoutWaitsWithoutATimeoutStep) {
  Parsed p = parse(journey_text(steps(R"({"type":"wait_event","event":"Clicked","next":"z"})")));
  ASSERT_TRUE(p.journey) << describe(p.errors);
  const Step& a = p.journey->steps.at("a");
  EXPECT_EQ(a.timeout, 0);
  EXPECT_EQ(a.timeout_next, "");
}

TEST(JourneyParse, AWaitEventWithAWhenKeepsIt) {
  Parsed p = parse(journey_text(steps(
    R"({"type":"wait_event","event":"Clicked","when":{"path":"event.properties.n","op":"gt","value":1},
        "timeout":"1h","next":"z","timeout_next":"z"})")));
  ASSERT_TRUE(p.journey) << describe(p.errors);
  EXPECT_TRUE(p.journey->steps.at("a").when);
}

TEST(JourneyParse, ATimeoutAndItsTimeoutNextComeTogether) {
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"wait_event","event":"E","timeout":"1h","next":"z"})")),
                       "steps.a.timeout_next"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"wait_event","event":"E","next":"z","timeout_next":"z"})")),
                       "steps.a.timeout"));
}

TEST(JourneyParse, AWaitEventNeedsItsEventAndNext) {
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"wait_event","next":"z"})")), "steps.a.event"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"wait_event","event":"E"})")), "steps.a.next"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"wait_event","event":"E","next":"z","when":{"op":"eq"}})")),
                       "steps.a.when"));
}

// ---- required fields and wrong types per step type ------------------------------------

TEST(JourneyParse, EveryStepTypeReportsItsMissingFields) {
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"send","template":"welcome","next":"z"})")), "steps.a.channel"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"send","channel":"email","next":"z"})")), "steps.a.template"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"send","channel":"email","template":"welcome"})")),
                       "steps.a.next"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"wait","next":"z"})")), "steps.a.duration"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"branch","default":"z"})")), "steps.a.cases"));
  EXPECT_TRUE(error_at(
    journey_text(steps(R"({"type":"branch","cases":[{"when":{"path":"traits.a","op":"exists"},"next":"z"}]})")),
    "steps.a.default"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"branch","cases":[{"next":"z"}],"default":"z"})")),
                       "steps.a.cases[0].when"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"split"})")), "steps.a.variants"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"split","variants":[{"name":"x","next":"z"}]})")),
                       "steps.a.variants[0].weight"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"update","next":"z"})")), "steps.a.set"));
  EXPECT_TRUE(error_at(journey_text(R"({"a":{"type":"jump"}})"), "steps.a.journey"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"next":"z"})")), "steps.a.type"));
}

TEST(JourneyParse, WrongTypesInStepsAreReportedAtTheirPath) {
  EXPECT_TRUE(error_at(journey_text(R"({"a":"exit"})"), "steps.a"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":7})")), "steps.a.type"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"wait","duration":"1h","next":["z"]})")), "steps.a.next"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"branch","cases":{},"default":"z"})")), "steps.a.cases"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"branch","cases":["x"],"default":"z"})")), "steps.a.cases[0]"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"split","variants":[{"name":"x","weight":"1","next":"z"}]})")),
                       "steps.a.variants[0].weight"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"split","variants":[{"name":"x","weight":0.5,"next":"z"}]})")),
                       "steps.a.variants[0].weight"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"split","variants":[{"name":"x","weight":0,"next":"z"}]})")),
                       "steps.a.variants[0].weight"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"update","set":[1],"next":"z"})")), "steps.a.set"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"update","set":{"profile.x":1},"next":"z"})")),
                       "steps.a.set.profile.x"));
}

TEST(JourneyParse, WrongTypesAtTheTopLevelAreReportedAtTheirPath) {
  EXPECT_TRUE(error_at(R"({"id":7,"entry":{"event":"Go"},"start":"a","steps":{"a":{"type":"exit"}}})", "id"));
  EXPECT_TRUE(error_at(R"({"id":"j","entry":"Go","start":"a","steps":{"a":{"type":"exit"}}})", "entry"));
  EXPECT_TRUE(error_at(R"({"id":"j","entry":{"event":"Go"},"start":5,"steps":{"a":{"type":"exit"}}})", "start"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("exit":{"event":"X"},)"), "exit"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("exit":["X"],)"), "exit[0]"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("goal":"Order",)"), "goal"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("reentry":"never",)"), "reentry"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("timeout":30,)"), "timeout"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("key":"cart_id",)"), "key"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("name":["J"],)"), "name"));
  EXPECT_FALSE(parse("[1]").journey);
}

TEST(JourneyParse, MissingTopLevelFieldsAreReported) {
  EXPECT_TRUE(error_at(R"({"entry":{"event":"Go"},"start":"a","steps":{"a":{"type":"exit"}}})", "id"));
  EXPECT_TRUE(error_at(R"({"id":"j","start":"a","steps":{"a":{"type":"exit"}}})", "entry"));
  EXPECT_TRUE(error_at(R"({"id":"j","entry":{},"start":"a","steps":{"a":{"type":"exit"}}})", "entry"));
  EXPECT_TRUE(error_at(R"({"id":"j","entry":{"event":"Go"},"steps":{"a":{"type":"exit"}}})", "start"));
  EXPECT_TRUE(error_at(R"({"id":"j","entry":{"event":"Go"},"start":"a"})", "steps"));
  EXPECT_TRUE(error_at(R"({"id":"j","entry":{"event":"Go"},"start":"a","steps":{}})", "steps"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("goal":{"within":"1d"},)"), "goal.event"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("exit":[{}],)"), "exit[0]"));
}

TEST(JourneyParse, UnknownFieldsAreReportedWhereverTheyAre) {
  EXPECT_TRUE(error_at(R"({"id":"j","entry":{"event":"Go","colour":1},"start":"a","steps":{"a":{"type":"exit"}}})",
                       "entry.colour"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("reentry":{"mode":"never","every":"1d"},)"),
                       "reentry.every"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("exit":[{"event":"X","why":1}],)"),
                       "exit[0].why"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("goal":{"event":"X","amount":1},)"),
                       "goal.amount"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"split","variants":[{"name":"x","weight":1,"next":"z","p":1}]})")),
                       "steps.a.variants[0].p"));
  EXPECT_TRUE(error_at(journey_text(steps(
                         R"({"type":"branch","cases":[{"when":{"path":"traits.a","op":"exists"},"next":"z","x":1}],
                             "default":"z"})")),
                       "steps.a.cases[0].x"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"wait","duration":"1h","next":"z","timeout":"1d"})")),
                       "steps.a.timeout"));
  EXPECT_TRUE(error_at(journey_text(R"({"a":{"type":"jump","journey":"k","next":"z"},"z":{"type":"exit"}})"),
                       "steps.a.next"));
}

// ---- references and graph ---------------------------------------------------------------

TEST(JourneyParse, EveryKindOfTargetIsChecked) {
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"wait_event","event":"E","timeout":"1h","next":"z",
                                             "timeout_next":"nope"})")),
                       "steps.a.timeout_next"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"branch","cases":[{"when":{"path":"traits.a","op":"exists"},
                                             "next":"nope"}],"default":"z"})")),
                       "steps.a.cases[0].next"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"branch","cases":[{"when":{"path":"traits.a","op":"exists"},
                                             "next":"z"}],"default":"nope"})")),
                       "steps.a.default"));
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"split","variants":[{"name":"x","weight":1,"next":"nope"}]})")),
                       "steps.a.variants[0].next"));
}

TEST(JourneyParse, AStepReachableOnlyFromAnUnreachableStepIsAlsoReported) {
  Parsed p = parse(journey_text(R"({"a":{"type":"exit"},"b":{"type":"wait","duration":"1h","next":"c"},
                                    "c":{"type":"exit"}})"));
  ASSERT_FALSE(p.journey);
  EXPECT_TRUE(error_at(journey_text(R"({"a":{"type":"exit"},"b":{"type":"wait","duration":"1h","next":"c"},
                                        "c":{"type":"exit"}})"),
                       "steps.b"));
  EXPECT_TRUE(error_at(journey_text(R"({"a":{"type":"exit"},"b":{"type":"wait","duration":"1h","next":"c"},
                                        "c":{"type":"exit"}})"),
                       "steps.c"));
}

TEST(JourneyParse, AWaitFreeCycleIsNamedAtItsFirstStepWithTheWholeLoop) {
  Parsed p = parse(journey_text(R"({"a":{"type":"branch","cases":[{"when":{"path":"traits.x","op":"exists"},
    "next":"z"}],"default":"b"},"b":{"type":"split","variants":[{"name":"v","weight":1,"next":"a"}]},
    "z":{"type":"exit"}})"));
  ASSERT_FALSE(p.journey);
  ASSERT_EQ(p.errors.size(), 1u) << describe(p.errors);
  EXPECT_EQ(p.errors[0].path, "steps.a");
  EXPECT_NE(p.errors[0].message.find("a -> b -> a"), std::string::npos) << p.errors[0].message;
}

TEST(JourneyParse, ACycleThroughAWaitEventWithoutTimeoutIsAllowed) {
  EXPECT_TRUE(valid(journey_text(R"({"a":{"type":"update","set":{"traits.n":1},"next":"b"},
    "b":{"type":"wait_event","event":"Again","next":"a"}})")));
}

TEST(JourneyParse, ASendWithATemplateOfAnotherChannelIsRefused) {
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"send","channel":"sms","template":"welcome","next":"z"})")),
                       "steps.a.template"));
  EXPECT_TRUE(valid(journey_text(steps(R"({"type":"send","channel":"sms","template":"text","next":"z"})"))))
    << "a template without a channel fits any";
}

// ---- ids, paths, bounds ---------------------------------------------------------------

TEST(JourneyParse, IdsStepIdsAndKeysMustBeWellFormed) {
  EXPECT_TRUE(error_at(R"({"id":"has space","entry":{"event":"Go"},"start":"a","steps":{"a":{"type":"exit"}}})", "id"));
  EXPECT_TRUE(error_at(R"({"id":")" + std::string(129, 'x') +
                         R"(","entry":{"event":"Go"},"start":"a","steps":{"a":{"type":"exit"}}})",
                       "id"));
  EXPECT_TRUE(error_at(R"({"id":"j","entry":{"event":"Go"},"start":"a/b","steps":{"a/b":{"type":"exit"}}})",
                       "steps.a/b"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("key":"properties.",)"), "key"));
  EXPECT_TRUE(valid(journey_text(kOnlyExit, R"("key":"traits.account.id",)")));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("goal":{"event":"X","value":"traits.ltv"},)"),
                       "goal.value"));
}

TEST(JourneyParse, DurationsBeyondAHundredYearsAreRefused) {
  // Larger waits would overflow the due time of their timer.
  EXPECT_TRUE(error_at(journey_text(steps(R"({"type":"wait","duration":"15250284452w","next":"z"})")),
                       "steps.a.duration"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("timeout":"9999999999d",)"), "timeout"));
  EXPECT_TRUE(error_at(journey_text(kOnlyExit, R"("reentry":{"cooldown":"5300w"},)"),
                       "reentry.cooldown"));
  EXPECT_TRUE(valid(journey_text(steps(R"({"type":"wait","duration":"5200w","next":"z"})"))));
  EXPECT_TRUE(valid(journey_text(steps(R"({"type":"wait","duration":"36500d","next":"z"})"))));
}

// Issue #12: a count window is subtracted from now; "9223372036854775s"
// parsed (it fits in ms) and now - within overflowed.
TEST(JourneyParse, CountWindowsBeyondAHundredYearsAreRefused) {
  auto branch = [](const std::string& within) {
    return steps(R"({"type":"branch","cases":[{"when":{"count":{"event":"E","within":")" + within +
                 R"("},"op":"gte","value":1},"next":"z"}],"default":"z"})");
  };
  EXPECT_TRUE(error_at(journey_text(branch("9223372036854775s")), "steps.a.cases[0].when.count.within"));
  EXPECT_TRUE(error_at(journey_text(branch("36526d")), "steps.a.cases[0].when.count.within"));
  EXPECT_TRUE(valid(journey_text(branch("36525d"))));
}

// A jump target is checked through the context (the catalog knows what is
// deployed); a jump to the journey itself is never looked up.
TEST(JourneyParse, AJumpTargetIsAskedAboutUnlessItIsTheJourneyItself) {
  ValidationContext ctx = context();
  std::vector<std::string> asked;
  ctx.jump_target_problem = [&](const std::string& id) {
    asked.push_back(id);
    return id == "known" ? std::string() : "unknown journey '" + id + "'";
  };
  auto jump_to = [](const std::string& id) { return journey_text(R"({"a":{"type":"jump","journey":")" + id + "\"}}"); };
  std::vector<ValidationError> errors;
  EXPECT_TRUE(parse_journey(json::parse(jump_to("known")), ctx, errors)) << describe(errors);
  EXPECT_TRUE(parse_journey(json::parse(jump_to("j")), ctx, errors)) << describe(errors);
  EXPECT_FALSE(parse_journey(json::parse(jump_to("other")), ctx, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "steps.a.journey");
  EXPECT_EQ(asked, (std::vector<std::string>{"known", "other"}));
}

TEST(JourneyParse, EveryErrorIsReportedInOnePass) {
  Parsed p = parse(R"({"id":"j","entry":{"event":"Go"},"start":"a","colour":1,"steps":{
    "a":{"type":"wait","duration":"soon","next":"b"},
    "b":{"type":"send","channel":"fax","template":"ghost","next":"nowhere"}}})");
  ASSERT_FALSE(p.journey);
  std::vector<std::string> paths;
  for (const auto& e : p.errors)
    paths.push_back(e.path);
  for (const char* expected : {"colour", "steps.a.duration", "steps.b.channel", "steps.b.template", "steps.b.next"})
    EXPECT_NE(std::find(paths.begin(), paths.end(), expected), paths.end()) << expected << describe(p.errors);
}

}  // namespace
}  // namespace waymark
