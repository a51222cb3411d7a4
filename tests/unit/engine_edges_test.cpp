// Journey engine edge cases around profile changes (src/journey/engine.cpp):
// exit criteria that already hold when a customer would enter, and profile
// changes made by instances that entered on a condition or after a timer.
#include "waymark/engine.hpp"

#include <gtest/gtest.h>

#include "journey/engine_internal.hpp"

namespace waymark {
namespace {

namespace json = boost::json;

constexpr Millis kDay = 24 * 60 * 60 * 1000;

int64_t counted(const Decision& d, const std::string& counter) {
  int64_t n = 0;
  for (const auto& s : d.stats)
    if (s.counter == counter)
      n += s.n;
  return n;
}

struct EngineEdges : ::testing::Test {
  Catalog cat;
  CustomerState s;
  Millis now = parse_rfc3339("2026-11-02T12:00:00Z").value();

  EngineEdges() {
    cat.channels["email"] = ChannelPolicy{"email", "email", true, std::nullopt, std::nullopt};
    std::vector<ValidationError> errors;
    TemplatePtr t = parse_template(json::parse(R"({"id":"welcome","channel":"email","subject":"Hi","body":"x"})"),
                                   errors);
    cat.templates[t->id] = t;
  }

  void deploy(const std::string& text) {
    std::vector<ValidationError> errors;
    ValidationContext ctx;
    ctx.channels = {"email"};
    JourneyPtr parsed = parse_journey(json::parse(text), ctx, errors);
    ASSERT_TRUE(parsed) << errors.at(0).path << ": " << errors.at(0).message;
    auto j = std::make_shared<Journey>(*parsed);
    JourneyEntry& entry = cat.journeys[j->id];
    j->version = static_cast<int>(entry.versions.size()) + 1;
    entry.versions.push_back(j);
  }

  Event event(EventType type, const std::string& name, const char* traits = "{}") {
    Event e;
    e.type = type;
    e.user_id = "u1";
    e.name = name;
    e.timestamp = now;
    e.traits = json::parse(traits).as_object();
    return e;
  }
  Decision track(const std::string& name) { return on_event(s, cat, event(EventType::track, name), now); }
  Decision identify(const char* traits) { return on_event(s, cat, event(EventType::identify, "", traits), now); }

  const Instance* find(const std::string& journey) const {
    for (const auto& i : s.instances)
      if (i.journey == journey)
        return &i;
    return nullptr;
  }

  bool traced(const std::string& what) const {
    for (const auto& t : s.trace)
      if (t.what == what)
        return true;
    return false;
  }
};

// The product example: onboarding a trial ends once the customer is on "pro".
const char* kTrial = R"({"id":"trial","entry":{"event":"Trial Started"},
  "exit":[{"when":{"path":"traits.plan","op":"eq","value":"pro"}}],"start":"welcome","steps":{
  "welcome":{"type":"send","channel":"email","template":"welcome","next":"w"},
  "w":{"type":"wait","duration":"2d","next":"done"},"done":{"type":"exit"}}})";

TEST_F(EngineEdges, ACustomerWhoAlreadyMeetsAnExitConditionIsNotEnteredAndGetsNoMessage) {
  deploy(kTrial);
  identify(R"({"email":"a@b.c","plan":"pro"})");
  Decision d = track("Trial Started");
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_FALSE(find("trial"));
  EXPECT_EQ(counted(d, "entered"), 0);
  EXPECT_TRUE(traced("not entered: exit_criteria"));
}

TEST_F(EngineEdges, RefusingAnEntryForAnExitConditionDoesNotUseUpANeverJourney) {
  deploy(R"({"id":"once","entry":{"event":"Trial Started"},"reentry":{"mode":"never"},
    "exit":[{"when":{"path":"traits.plan","op":"eq","value":"pro"}}],"start":"welcome","steps":{
    "welcome":{"type":"send","channel":"email","template":"welcome","next":"done"},"done":{"type":"exit"}}})");
  identify(R"({"email":"a@b.c","plan":"pro"})");
  track("Trial Started");
  identify(R"({"plan":"free"})");
  Decision d = track("Trial Started");
  EXPECT_EQ(counted(d, "entered"), 1);
  EXPECT_EQ(d.deliveries.size(), 1u);
}

TEST_F(EngineEdges, AJumpIntoAJourneyWhoseExitConditionHoldsEntersNothing) {
  deploy(kTrial);
  deploy(R"({"id":"router","entry":{"event":"Go"},"start":"j","steps":{"j":{"type":"jump","journey":"trial"}}})");
  identify(R"({"email":"a@b.c","plan":"pro"})");
  Decision d = track("Go");
  EXPECT_EQ(counted(d, "exited:jump"), 1);
  EXPECT_FALSE(find("trial"));
  EXPECT_TRUE(d.deliveries.empty());
}

// "waiting" ends when traits.stage is "done"; "vip" enters on a profile
// condition and sets that trait at once.
const char* kWaiting = R"({"id":"waiting","entry":{"event":"Signed Up"},
  "exit":[{"when":{"path":"traits.stage","op":"eq","value":"done"}}],"start":"w","steps":{
  "w":{"type":"wait","duration":"7d","next":"end"},"end":{"type":"exit"}}})";

TEST_F(EngineEdges, AnUpdateByAConditionEnteredJourneyEndsAnotherInstanceInTheSameTrigger) {
  deploy(kWaiting);
  deploy(R"({"id":"vip","entry":{"when":{"path":"traits.vip","op":"eq","value":true}},"start":"tag","steps":{
    "tag":{"type":"update","set":{"traits.stage":"done"},"next":"end"},"end":{"type":"exit"}}})");
  track("Signed Up");
  const std::string timer = find("waiting")->timer_id;
  Decision d = identify(R"({"vip":true})");
  EXPECT_EQ(s.traits.at("stage"), "done");
  EXPECT_FALSE(find("waiting"));
  EXPECT_EQ(counted(d, "exited:exit_criteria"), 1);
  bool cleared = false;
  for (const auto& t : d.timers_cleared)
    cleared = cleared || t.id == timer;
  EXPECT_TRUE(cleared);
}

TEST_F(EngineEdges, AnUpdateByAConditionEntryStartsAnotherConditionEntryWhateverTheJourneyOrder) {
  // "a-tagged" sorts before "b-vip", so it is checked before b-vip's update runs.
  deploy(R"({"id":"a-tagged","entry":{"when":{"path":"traits.stage","op":"eq","value":"tagged"}},
    "start":"w","steps":{"w":{"type":"wait","duration":"1d","next":"end"},"end":{"type":"exit"}}})");
  deploy(R"({"id":"b-vip","entry":{"when":{"path":"traits.vip","op":"eq","value":true}},"start":"tag","steps":{
    "tag":{"type":"update","set":{"traits.stage":"tagged"},"next":"end"},"end":{"type":"exit"}}})");
  Decision d = identify(R"({"vip":true})");
  EXPECT_EQ(counted(d, "entered"), 2);
  EXPECT_TRUE(find("a-tagged"));
  // The edge was taken once: a later event does not enter again.
  now += 1000;
  EXPECT_EQ(counted(track("Anything"), "entered"), 0);
}

TEST_F(EngineEdges, AnUpdateAfterAWaitEndsAnotherInstanceWaitingOnThatProfileCondition) {
  deploy(kWaiting);
  deploy(R"({"id":"later","entry":{"event":"Go"},"start":"w","steps":{
    "w":{"type":"wait","duration":"1d","next":"tag"},
    "tag":{"type":"update","set":{"traits.stage":"done"},"next":"end"},"end":{"type":"exit"}}})");
  track("Signed Up");
  track("Go");
  ASSERT_TRUE(find("waiting"));
  now += kDay;
  Decision d = on_timer(s, cat, find("later")->timer_id, now);
  EXPECT_FALSE(find("later"));
  EXPECT_FALSE(find("waiting"));
  EXPECT_EQ(counted(d, "exited:exit_criteria"), 1);
}

}  // namespace
}  // namespace waymark
