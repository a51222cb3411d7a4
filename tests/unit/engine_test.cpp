// The journey engine (src/journey/engine*.cpp): steps, entries and re-entry,
// keyed instances, exits, goals, timeouts, send rules, idempotency keys.
// Journeys are written as JSON and parsed with parse_journey; time is a
// variable the tests move by hand.
#include "waymark/engine.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <set>

#include "journey/engine_internal.hpp"

namespace waymark {
namespace {

namespace json = boost::json;

constexpr Millis kMin = 60 * 1000;
constexpr Millis kHour = 60 * kMin;
constexpr Millis kDay = 24 * kHour;

Millis at(const char* rfc3339) { return parse_rfc3339(rfc3339).value(); }

int64_t counted(const Decision& d, const std::string& counter, const std::string& step = "*") {
  int64_t n = 0;
  for (const auto& s : d.stats)
    if (s.counter == counter && (step == "*" || s.step == step))
      n += s.n;
  return n;
}

bool has_timer(const std::vector<TimerRef>& timers, const std::string& id) {
  for (const auto& t : timers)
    if (t.id == id)
      return true;
  return false;
}

struct Engine : ::testing::Test {
  Catalog cat;
  CustomerState s;
  Millis now = at("2026-11-02T12:00:00Z");

  Engine() {
    cat.channels["email"] = ChannelPolicy{"email", "email", true, std::nullopt, std::nullopt};
    cat.channels["sms"] = ChannelPolicy{"sms", "phone", false, std::nullopt, std::nullopt};
    cat.channels["inbox"] = ChannelPolicy{"inbox", "", false, std::nullopt, std::nullopt};
    add_template(R"({"id":"welcome","channel":"email",
                     "subject":"Welcome {{traits.first_name|there}}","body":"Hi & bye"})");
    add_template(R"({"id":"cart","channel":"sms","text":"Cart {{entry.properties.cart_id}}"})");
    add_template(R"({"id":"strict","channel":"email","subject":"Hi {{traits.first_name}}","body":"x"})");
    add_template(R"({"id":"note","channel":"inbox","title":"Note {{event.properties.n|none}}"})");
  }

  void add_template(const char* text) {
    std::vector<ValidationError> errors;
    TemplatePtr t = parse_template(json::parse(text), errors);
    ASSERT_TRUE(t) << errors.at(0).path << ": " << errors.at(0).message;
    cat.templates[t->id] = t;
  }

  JourneyPtr deploy(const std::string& text, JourneyStatus status = JourneyStatus::active) {
    std::vector<ValidationError> errors;
    ValidationContext ctx;
    ctx.channels = {"email", "sms", "inbox"};
    JourneyPtr parsed = parse_journey(json::parse(text), ctx, errors);
    EXPECT_TRUE(parsed) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
    if (!parsed)
      return nullptr;
    return deploy(std::make_shared<Journey>(*parsed), status);
  }

  JourneyPtr deploy(std::shared_ptr<Journey> j, JourneyStatus status = JourneyStatus::active) {
    JourneyEntry& entry = cat.journeys[j->id];
    j->version = static_cast<int>(entry.versions.size()) + 1;
    entry.versions.push_back(j);
    entry.status = status;
    return j;
  }

  Event track(const std::string& name, const char* props = "{}", const std::string& user = "u1") {
    Event e;
    e.type = EventType::track;
    e.user_id = user;
    e.name = name;
    e.timestamp = now;
    e.properties = json::parse(props).as_object();
    return e;
  }

  Event identify(const char* traits) {
    Event e;
    e.type = EventType::identify;
    e.user_id = "u1";
    e.timestamp = now;
    e.traits = json::parse(traits).as_object();
    return e;
  }

  Decision on(const Event& e) { return on_event(s, cat, e, now); }
  Decision fire(const std::string& timer_id) { return on_timer(s, cat, timer_id, now); }

  const Instance* find(const std::string& journey, std::optional<std::string> key = std::nullopt) {
    for (const auto& i : s.instances)
      if (i.journey == journey && (!key || i.key == key))
        return &i;
    return nullptr;
  }

  bool traced(const std::string& what) const {
    for (const auto& t : s.trace)
      if (t.what == what)
        return true;
    return false;
  }

  void set_traits(const char* traits) { s.traits = json::parse(traits).as_object(); }
};

// A send step, then exit.
const char* kWelcome = R"({"id":"welcome","entry":{"event":"Signed Up"},"start":"hello","steps":{
  "hello":{"type":"send","channel":"email","template":"welcome","next":"done"},
  "done":{"type":"exit"}}})";

// ---- steps --------------------------------------------------------------------------

TEST_F(Engine, SendStepDeliversTheRenderedTemplateToTheProfileAddress) {
  deploy(kWelcome);
  set_traits(R"({"email":"a@b.c","first_name":"<Ana>"})");
  Decision d = on(track("Signed Up"));
  ASSERT_EQ(d.deliveries.size(), 1u);
  const Delivery& m = d.deliveries[0];
  EXPECT_EQ(m.channel, "email");
  EXPECT_EQ(m.customer, "u1");
  EXPECT_EQ(m.to, "a@b.c");
  EXPECT_EQ(m.content.at("subject"), "Welcome <Ana>");  // a mail header: plain text, never HTML-escaped
  EXPECT_EQ(m.content.at("body"), "Hi & bye");         // template text is not escaped either
  EXPECT_EQ(m.at, now);
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(counted(d, "entered"), 1);
  EXPECT_EQ(counted(d, "sent", "hello"), 1);
  EXPECT_EQ(counted(d, "visited"), 2);
  EXPECT_EQ(counted(d, "exited:completed", "done"), 1);
  EXPECT_TRUE(s.instances.empty());
  EXPECT_TRUE(traced("sent " + m.id));
  ASSERT_EQ(s.deliveries.size(), 1u);
  EXPECT_EQ(s.deliveries[0].id, m.id);
}

TEST_F(Engine, DeliveryRecordHasExactlyTheProductFields) {
  deploy(kWelcome);
  set_traits(R"({"email":"a@b.c"})");
  Decision d = on(track("Signed Up"));
  ASSERT_EQ(d.deliveries.size(), 1u);
  json::object o = d.deliveries[0].to_json();
  json::object expected{{"id", d.deliveries[0].id},
                        {"channel", "email"},
                        {"customer", "u1"},
                        {"journey", "welcome"},
                        {"version", 1},
                        {"key", nullptr},
                        {"step", "hello"},
                        {"template", "welcome"},
                        {"to", "a@b.c"},
                        {"content", {{"subject", "Welcome there"}, {"body", "Hi & bye"}}},
                        {"at", "2026-11-02T12:00:00.000Z"}};
  EXPECT_EQ(o, expected) << json::serialize(o);
}

TEST_F(Engine, WaitSetsATimerAndContinuesWhenItFires) {
  deploy(R"({"id":"drip","entry":{"event":"Signed Up"},"start":"w","steps":{
    "w":{"type":"wait","duration":"2d","next":"hello"},
    "hello":{"type":"send","channel":"email","template":"welcome","next":"done"},
    "done":{"type":"exit"}}})");
  set_traits(R"({"email":"a@b.c"})");
  Decision d = on(track("Signed Up"));
  const Instance* inst = find("drip");
  ASSERT_TRUE(inst);
  EXPECT_EQ(inst->step, "w");
  EXPECT_EQ(inst->timer_due, now + 2 * kDay);
  ASSERT_EQ(d.timers_set.size(), 1u);
  EXPECT_EQ(d.timers_set[0].id, inst->timer_id);
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_TRUE(traced("waiting until 2026-11-04T12:00:00.000Z"));

  const std::string timer = inst->timer_id;
  now += 2 * kDay;
  Decision fired = fire(timer);
  EXPECT_TRUE(fired.changed);
  EXPECT_EQ(fired.deliveries.size(), 1u);
  EXPECT_FALSE(find("drip"));
  EXPECT_FALSE(has_timer(fired.timers_cleared, timer));  // a fired timer is the store's to delete
}

TEST_F(Engine, AStaleTimerChangesNothing) {
  deploy(kWelcome);
  Decision d = fire("t42");
  EXPECT_FALSE(d.changed);
  EXPECT_TRUE(d.stats.empty());
}

const char* kActivation = R"({"id":"activation","entry":{"event":"Signed Up"},"start":"w","steps":{
  "w":{"type":"wait_event","event":"Feature Used","when":{"path":"event.properties.n","op":"gte","value":1},
       "timeout":"3d","next":"yay","timeout_next":"nudge"},
  "yay":{"type":"exit"},
  "nudge":{"type":"send","channel":"inbox","template":"note","next":"done"},
  "done":{"type":"exit"}}})";

TEST_F(Engine, WaitEventContinuesOnTheAwaitedEventAndClearsItsTimeout) {
  deploy(kActivation);
  on(track("Signed Up"));
  const std::string timer = find("activation")->timer_id;
  now += kHour;
  Decision ignored = on(track("Feature Used", R"({"n":0})"));  // `when` does not hold
  EXPECT_TRUE(find("activation"));
  EXPECT_TRUE(ignored.timers_cleared.empty());
  Decision d = on(track("Feature Used", R"({"n":2})"));
  EXPECT_FALSE(find("activation"));
  EXPECT_TRUE(has_timer(d.timers_cleared, timer));
  EXPECT_EQ(counted(d, "exited:completed", "yay"), 1);
  EXPECT_TRUE(d.deliveries.empty());
}

TEST_F(Engine, WaitEventTimeoutGoesToTimeoutNext) {
  deploy(kActivation);
  on(track("Signed Up"));
  now += 3 * kDay;
  Decision d = fire(find("activation")->timer_id);
  ASSERT_EQ(d.deliveries.size(), 1u);
  EXPECT_EQ(d.deliveries[0].content.at("title"), "Note none");  // no event.* on a timer
  EXPECT_EQ(d.deliveries[0].to, "");
  EXPECT_EQ(counted(d, "exited:completed", "done"), 1);
}

TEST_F(Engine, BranchTakesTheFirstCaseWhoseCountConditionHolds) {
  deploy(R"({"id":"b","entry":{"event":"Check"},"start":"c","steps":{
    "c":{"type":"branch","cases":[{"when":{"count":{"event":"Feature Used","within":"7d"},"op":"gte","value":3},
         "next":"power"}],"default":"casual"},
    "power":{"type":"update","set":{"traits.segment":"power"},"next":"done"},
    "casual":{"type":"update","set":{"traits.segment":"casual"},"next":"done"},
    "done":{"type":"exit"}}})");
  on(track("Feature Used"));
  on(track("Feature Used"));
  on(track("Check"));
  EXPECT_EQ(s.traits.at("segment"), "casual");
  EXPECT_TRUE(traced("default"));
  on(track("Feature Used"));
  on(track("Check"));
  EXPECT_EQ(s.traits.at("segment"), "power");
  EXPECT_TRUE(traced("case 0 matched"));
}

const char* kSplit = R"({"id":"ab","entry":{"event":"Go"},"start":"s","steps":{
  "s":{"type":"split","variants":[{"name":"a","weight":75,"next":"ta"},{"name":"b","weight":25,"next":"tb"}]},
  "ta":{"type":"update","set":{"traits.variant":"a"},"next":"done"},
  "tb":{"type":"update","set":{"traits.variant":"b"},"next":"done"},
  "done":{"type":"exit"}}})";

TEST_F(Engine, SplitPicksTheSameVariantForTheSameCustomer) {
  deploy(kSplit);
  for (const char* user : {"u1", "u2", "u3", "someone-else"}) {
    std::string first;
    for (int i = 0; i < 3; ++i) {
      CustomerState fresh;
      on_event(fresh, cat, track("Go", "{}", user), now + i * kDay);
      ASSERT_TRUE(fresh.traits.contains("variant"));
      std::string v(fresh.traits.at("variant").as_string());
      if (i == 0)
        first = v;
      EXPECT_EQ(v, first) << user;
      EXPECT_EQ(fresh.trace.size() >= 2 && fresh.trace[1].what == "variant " + v, true);
    }
  }
}

TEST_F(Engine, SplitDistributesCustomersRoughlyByWeight) {
  deploy(kSplit);
  int a = 0;
  for (int i = 0; i < 1000; ++i) {
    CustomerState fresh;
    on_event(fresh, cat, track("Go", "{}", "user-" + std::to_string(i)), now);
    a += fresh.traits.at("variant") == "a";
  }
  EXPECT_GT(a, 690);
  EXPECT_LT(a, 810);
}

TEST_F(Engine, UpdateSetsNestedTraitsAndThenAProfileExitCriterionEndsTheInstance) {
  deploy(R"({"id":"u","entry":{"event":"Go"},
    "exit":[{"when":{"path":"traits.stage","op":"eq","value":"done"}}],"start":"tag","steps":{
    "tag":{"type":"update","set":{"traits.profile.stage":"x","traits.stage":"done"},"next":"hello"},
    "hello":{"type":"send","channel":"inbox","template":"note","next":"end"},
    "end":{"type":"exit"}}})");
  Decision d = on(track("Go"));
  EXPECT_EQ(s.traits.at("profile").at("stage"), "x");
  EXPECT_EQ(counted(d, "exited:exit_criteria", "tag"), 1);
  EXPECT_TRUE(d.deliveries.empty());
}

TEST_F(Engine, AnUpdateInOneJourneyEndsAnotherJourneyWaitingOnThatProfileCondition) {
  deploy(R"({"id":"waiting","entry":{"event":"Signed Up"},
    "exit":[{"when":{"path":"traits.stage","op":"eq","value":"done"}}],"start":"w","steps":{
    "w":{"type":"wait","duration":"1d","next":"end"},"end":{"type":"exit"}}})");
  deploy(R"({"id":"tagger","entry":{"event":"Go"},"start":"tag","steps":{
    "tag":{"type":"update","set":{"traits.stage":"done"},"next":"end"},"end":{"type":"exit"}}})");
  on(track("Signed Up"));
  const std::string timer = find("waiting")->timer_id;
  Decision d = on(track("Go"));
  EXPECT_FALSE(find("waiting"));
  EXPECT_TRUE(has_timer(d.timers_cleared, timer));
}

TEST_F(Engine, JumpLeavesThisJourneyAndEntersTheTargetWithTheSameEntryEvent) {
  deploy(R"({"id":"first","entry":{"event":"Go"},"start":"j","steps":{"j":{"type":"jump","journey":"second"}}})");
  deploy(R"({"id":"second","entry":{"event":"Other"},"start":"hello","steps":{
    "hello":{"type":"send","channel":"inbox","template":"note","next":"w"},
    "w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})");
  Decision d = on(track("Go", R"({"n":5})"));
  EXPECT_EQ(counted(d, "exited:jump", "j"), 1);
  const Instance* inst = find("second");
  ASSERT_TRUE(inst);
  EXPECT_EQ(inst->entry.at("event"), "Go");
  EXPECT_EQ(inst->step, "w");
  ASSERT_EQ(d.deliveries.size(), 1u);
  EXPECT_EQ(d.deliveries[0].content.at("title"), "Note 5");
}

TEST_F(Engine, LoopGuardEndsAnInstanceThatNeverWaits) {
  // The validator rejects wait-free cycles, so this journey is built by hand.
  auto j = std::make_shared<Journey>();
  j->id = "loop";
  j->entry_event = "Go";
  j->start = "a";
  Step a;
  a.id = "a";
  a.type = StepType::update;
  a.set.emplace_back("traits.spins", json::value(1));
  a.next = "b";
  Step b;
  b.id = "b";
  b.type = StepType::branch;
  b.default_next = "a";
  j->steps = {{"a", a}, {"b", b}};
  deploy(j);
  cat.limits.steps_per_event_max = 10;
  Decision d = on(track("Go"));
  EXPECT_TRUE(s.instances.empty());
  EXPECT_EQ(counted(d, "visited"), 10);
  EXPECT_EQ(counted(d, "exited:loop_guard"), 1);
  EXPECT_TRUE(traced("exited: loop_guard"));
}

// ---- entries and re-entry --------------------------------------------------------------

std::string waiting_journey(const char* reentry) {
  return std::string(R"({"id":"r","entry":{"event":"Go"},"reentry":)") + reentry +
         R"(,"start":"w","steps":{"w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})";
}

TEST_F(Engine, ReentryNeverEntersOnlyOnce) {
  deploy(waiting_journey(R"({"mode":"never"})"));
  on(track("Go"));
  now += 2 * kDay;
  fire(find("r")->timer_id);
  ASSERT_FALSE(find("r"));
  Decision d = on(track("Go"));
  EXPECT_EQ(counted(d, "entered"), 0);
  EXPECT_TRUE(traced("not entered: reentry_never"));
}

TEST_F(Engine, ReentryAfterExitWaitsForTheActiveInstanceToEnd) {
  deploy(waiting_journey(R"({"mode":"after_exit"})"));
  on(track("Go"));
  Decision again = on(track("Go"));
  EXPECT_EQ(counted(again, "entered"), 0);
  EXPECT_TRUE(traced("not entered: already_active"));
  now += kDay;
  fire(find("r")->timer_id);
  Decision later = on(track("Go"));
  EXPECT_EQ(counted(later, "entered"), 1);
  EXPECT_EQ(s.instances.size(), 1u);
}

TEST_F(Engine, ReentryAlwaysRunsASecondInstanceAlongsideTheFirst) {
  deploy(waiting_journey(R"({"mode":"always"})"));
  on(track("Go"));
  on(track("Go"));
  ASSERT_EQ(s.instances.size(), 2u);
  EXPECT_NE(s.instances[0].id, s.instances[1].id);
  EXPECT_NE(s.instances[0].timer_id, s.instances[1].timer_id);
}

TEST_F(Engine, CooldownRefusesEntriesUntilItHasPassedSinceTheLastEntry) {
  deploy(R"({"id":"c","entry":{"event":"Go"},"reentry":{"mode":"always","cooldown":"7d"},
    "start":"done","steps":{"done":{"type":"exit"}}})");
  EXPECT_EQ(counted(on(track("Go")), "entered"), 1);
  now += kDay;
  EXPECT_EQ(counted(on(track("Go")), "entered"), 0);
  EXPECT_TRUE(traced("not entered: cooldown"));
  now += 6 * kDay;
  EXPECT_EQ(counted(on(track("Go")), "entered"), 1);
}

TEST_F(Engine, EntryConditionOnEventIsChecked) {
  deploy(R"({"id":"de","entry":{"event":"Go","when":{"path":"traits.country","op":"eq","value":"DE"}},
    "start":"done","steps":{"done":{"type":"exit"}}})");
  EXPECT_EQ(counted(on(track("Go")), "entered"), 0);
  on(identify(R"({"country":"DE"})"));
  EXPECT_EQ(counted(on(track("Go")), "entered"), 1);
}

TEST_F(Engine, ConditionEntryEntersOnceWhenTheProfileStartsToMatch) {
  deploy(R"({"id":"vip","entry":{"when":{"path":"traits.plan","op":"eq","value":"pro"}},"start":"hello",
    "steps":{"hello":{"type":"send","channel":"email","template":"welcome","next":"done"},"done":{"type":"exit"}}})");
  on(identify(R"({"email":"a@b.c","plan":"free"})"));
  EXPECT_EQ(counted(on(identify(R"({"plan":"pro"})")), "entered"), 1);
  EXPECT_EQ(counted(on(identify(R"({"first_name":"Ana"})")), "entered"), 0);  // still pro: no edge
  EXPECT_EQ(counted(on(track("Anything")), "entered"), 0);
  on(identify(R"({"plan":"free"})"));
  EXPECT_EQ(counted(on(identify(R"({"plan":"pro"})")), "entered"), 1);
}

TEST_F(Engine, IdentifyMergesTraitsAndNullDeletesAKey) {
  on(identify(R"({"email":"a@b.c","plan":"free"})"));
  on(identify(R"({"plan":"pro","email":null})"));
  EXPECT_EQ(s.traits, json::parse(R"({"plan":"pro"})").as_object());
  EXPECT_EQ(s.id, "u1");
  ASSERT_EQ(s.history.size(), 2u);
  EXPECT_EQ(s.history[0].name, "identify");
}

TEST_F(Engine, HistoryKeepsOnlyTheNewestEventsWithinItsWindow) {
  cat.limits.history_events_max = 3;
  cat.limits.history_age_s = 86400;
  on(track("Old"));
  now += 2 * kDay;
  for (int i = 0; i < 4; ++i)
    on(track("E" + std::to_string(i)));
  ASSERT_EQ(s.history.size(), 3u);
  EXPECT_EQ(s.history.front().name, "E1");
  EXPECT_EQ(s.history.back().name, "E3");
}

TEST_F(Engine, TraceIsTrimmedToItsLimit) {
  cat.limits.trace_entries_max = 5;
  deploy(waiting_journey(R"({"mode":"always"})"));
  for (int i = 0; i < 10; ++i)
    on(track("Go"));
  EXPECT_EQ(s.trace.size(), 5u);
}

// ---- versions and journey status --------------------------------------------------------

TEST_F(Engine, InstancesFinishOnTheVersionTheyEnteredWhileNewEntriesUseTheLatest) {
  deploy(waiting_journey(R"({"mode":"always"})"));
  on(track("Go"));
  deploy(waiting_journey(R"({"mode":"always"})"));
  on(track("Go"));
  ASSERT_EQ(s.instances.size(), 2u);
  EXPECT_EQ(s.instances[0].version, 1);
  EXPECT_EQ(s.instances[1].version, 2);
  now += kDay;
  Decision d = fire(s.instances[0].timer_id);
  EXPECT_EQ(counted(d, "exited:completed"), 1);
  EXPECT_EQ(d.stats.back().version, 1);
}

TEST_F(Engine, AnInstanceWhoseVersionIsGoneExits) {
  deploy(waiting_journey(R"({"mode":"always"})"));
  on(track("Go"));
  cat.journeys["r"].versions[0] = nullptr;
  now += kDay;
  Decision d = fire(find("r")->timer_id);
  EXPECT_EQ(counted(d, "exited:version_missing"), 1);
}

TEST_F(Engine, PausedJourneysTakeNoEntriesButRunningInstancesContinue) {
  deploy(waiting_journey(R"({"mode":"always"})"));
  on(track("Go"));
  cat.journeys["r"].status = JourneyStatus::paused;
  EXPECT_EQ(counted(on(track("Go")), "entered"), 0);
  now += kDay;
  EXPECT_EQ(counted(fire(find("r")->timer_id), "exited:completed"), 1);
}

TEST_F(Engine, ArchivedJourneysEndTheirInstancesAtTheNextTrigger) {
  deploy(waiting_journey(R"({"mode":"always"})"));
  on(track("Go"));
  const std::string timer = find("r")->timer_id;
  cat.journeys["r"].status = JourneyStatus::archived;
  Decision d = on(track("Go"));
  EXPECT_EQ(counted(d, "exited:archived"), 1);
  EXPECT_EQ(counted(d, "entered"), 0);
  EXPECT_TRUE(has_timer(d.timers_cleared, timer));
}

// ---- keyed instances --------------------------------------------------------------------

const char* kCart = R"({"id":"cart","entry":{"event":"Cart Updated"},"key":"properties.cart_id",
  "start":"w","steps":{
  "w":{"type":"wait_event","event":"Order Completed","timeout":"1h","next":"done","timeout_next":"remind"},
  "remind":{"type":"send","channel":"sms","template":"cart","next":"done"},
  "done":{"type":"exit"}}})";

TEST_F(Engine, EachCartGetsItsOwnInstance) {
  deploy(kCart);
  on(track("Cart Updated", R"({"cart_id":"A"})"));
  on(track("Cart Updated", R"({"cart_id":"B"})"));
  on(track("Cart Updated", R"({"cart_id":"A"})"));
  ASSERT_EQ(s.instances.size(), 2u);
  EXPECT_TRUE(find("cart", "A"));
  EXPECT_TRUE(find("cart", "B"));
  EXPECT_TRUE(traced("not entered: already_active"));
}

TEST_F(Engine, AnEntryWithoutAKeyValueDoesNotEnterAKeyedJourney) {
  deploy(kCart);
  Decision d = on(track("Cart Updated", R"({"other":1})"));
  EXPECT_EQ(counted(d, "entered"), 0);
  EXPECT_TRUE(traced("not entered: missing_key"));
}

TEST_F(Engine, AbandonedCartRemindsOnlyTheCartThatWasNotBought) {
  deploy(kCart);
  set_traits(R"({"phone":"+4915100000"})");
  on(track("Cart Updated", R"({"cart_id":"A"})"));
  on(track("Cart Updated", R"({"cart_id":"B"})"));
  const std::string timer_a = find("cart", "A")->timer_id;
  const std::string timer_b = find("cart", "B")->timer_id;
  now += 10 * kMin;
  Decision bought = on(track("Order Completed", R"({"cart_id":"A"})"));
  EXPECT_FALSE(find("cart", "A"));
  EXPECT_TRUE(find("cart", "B"));
  EXPECT_TRUE(has_timer(bought.timers_cleared, timer_a));
  EXPECT_FALSE(has_timer(bought.timers_cleared, timer_b));
  now += kHour;
  EXPECT_FALSE(fire(timer_a).changed);
  Decision reminded = fire(timer_b);
  ASSERT_EQ(reminded.deliveries.size(), 1u);
  EXPECT_EQ(reminded.deliveries[0].content.at("text"), "Cart B");
  EXPECT_EQ(reminded.deliveries[0].key, std::optional<std::string>("B"));
  EXPECT_EQ(reminded.deliveries[0].to_json().at("key"), "B");
}

TEST_F(Engine, KeyedExitEventsEndOnlyTheirOwnInstanceUnlessTheyCarryNoKey) {
  deploy(R"({"id":"cart","entry":{"event":"Cart Updated"},"key":"properties.cart_id",
    "exit":[{"event":"Order Completed"},{"event":"Unsubscribed"}],"start":"w","steps":{
    "w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})");
  on(track("Cart Updated", R"({"cart_id":"A"})"));
  on(track("Cart Updated", R"({"cart_id":"B"})"));
  on(track("Cart Updated", R"({"cart_id":"C"})"));
  on(track("Order Completed", R"({"cart_id":"A"})"));
  EXPECT_FALSE(find("cart", "A"));
  EXPECT_EQ(s.instances.size(), 2u);
  Decision d = on(track("Unsubscribed"));
  EXPECT_TRUE(s.instances.empty());
  EXPECT_EQ(counted(d, "exited:exit_criteria"), 2);
}

// ---- exits, goals, timeouts ---------------------------------------------------------------

TEST_F(Engine, AnExitEventWhileWaitingEndsTheInstanceAndClearsItsTimers) {
  deploy(R"({"id":"x","entry":{"event":"Go"},"exit":[{"event":"Unsubscribed"}],"timeout":"30d",
    "start":"w","steps":{"w":{"type":"wait","duration":"2d","next":"done"},"done":{"type":"exit"}}})");
  Decision entered = on(track("Go"));
  EXPECT_EQ(entered.timers_set.size(), 2u);  // step timer + journey timeout
  const Instance copy = *find("x");
  now += kHour;
  Decision d = on(track("Unsubscribed"));
  EXPECT_FALSE(find("x"));
  EXPECT_EQ(counted(d, "exited:exit_criteria", "w"), 1);
  EXPECT_TRUE(has_timer(d.timers_cleared, copy.timer_id));
  EXPECT_TRUE(has_timer(d.timers_cleared, copy.timeout_timer_id));
  EXPECT_TRUE(traced("exited: exit_criteria"));
  EXPECT_FALSE(s.memo.at(engine_detail::memo_key("x", std::nullopt)).active);
}

const char* kGoal = R"({"id":"g","entry":{"event":"Trial Started"},
  "goal":{"event":"Order Completed","within":"7d","value":"properties.revenue"},
  "start":"w","steps":{"w":{"type":"wait","duration":"30d","next":"done"},"done":{"type":"exit"}}})";

TEST_F(Engine, AGoalWithinItsWindowRecordsItsValueAndExits) {
  deploy(kGoal);
  on(track("Trial Started"));
  now += kDay;
  Decision d = on(track("Order Completed", R"({"revenue":49.6})"));
  EXPECT_EQ(counted(d, "goal"), 1);
  EXPECT_EQ(counted(d, "goal_value"), 50);
  EXPECT_EQ(counted(d, "exited:goal"), 1);
  EXPECT_FALSE(find("g"));
}

TEST_F(Engine, AGoalAfterItsWindowIsNotCounted) {
  deploy(kGoal);
  on(track("Trial Started"));
  now += 8 * kDay;
  Decision d = on(track("Order Completed", R"({"revenue":10})"));
  EXPECT_EQ(counted(d, "goal"), 0);
  EXPECT_TRUE(find("g"));
}

TEST_F(Engine, JourneyTimeoutEndsTheInstanceAndClearsItsStepTimer) {
  deploy(R"({"id":"t","entry":{"event":"Go"},"timeout":"1d","start":"w","steps":{
    "w":{"type":"wait","duration":"7d","next":"done"},"done":{"type":"exit"}}})");
  on(track("Go"));
  const Instance copy = *find("t");
  EXPECT_EQ(copy.timeout_due, now + kDay);
  now += kDay;
  Decision d = fire(copy.timeout_timer_id);
  EXPECT_FALSE(find("t"));
  EXPECT_EQ(counted(d, "exited:timeout", "w"), 1);
  EXPECT_TRUE(has_timer(d.timers_cleared, copy.timer_id));
  EXPECT_FALSE(has_timer(d.timers_cleared, copy.timeout_timer_id));
}

// ---- send rules ----------------------------------------------------------------------------

TEST_F(Engine, UnsubscribedCustomersAreSuppressedAndTheJourneyContinues) {
  deploy(kWelcome);
  set_traits(R"({"email":"a@b.c","unsubscribed_email":true})");
  Decision d = on(track("Signed Up"));
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_EQ(counted(d, "suppressed:unsubscribed", "hello"), 1);
  EXPECT_EQ(counted(d, "exited:completed"), 1);
  EXPECT_TRUE(traced("suppressed: unsubscribed"));
  set_traits(R"({"email":"a@b.c","unsubscribed":true})");
  EXPECT_EQ(counted(on(track("Signed Up")), "suppressed:unsubscribed"), 1);
}

TEST_F(Engine, AMissingAddressSuppressesWithNoAddress) {
  deploy(kWelcome);
  set_traits(R"({"email":""})");
  Decision d = on(track("Signed Up"));
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_EQ(counted(d, "suppressed:no_address"), 1);
  EXPECT_TRUE(traced("suppressed: no_address"));
}

TEST_F(Engine, AMissingTemplateVariableSuppressesTheSend) {
  deploy(R"({"id":"s","entry":{"event":"Go"},"start":"hello","steps":{
    "hello":{"type":"send","channel":"email","template":"strict","next":"done"},"done":{"type":"exit"}}})");
  set_traits(R"({"email":"a@b.c"})");
  Decision d = on(track("Go"));
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_EQ(counted(d, "suppressed:missing_variable"), 1);
}

TEST_F(Engine, FrequencyCapAllowsOnlyMaxSendsPerWindowOnAChannel) {
  cat.channels["email"].frequency_cap = std::make_pair(2, kDay);
  deploy(R"({"id":"f","entry":{"event":"Go"},"reentry":{"mode":"always"},"start":"hello","steps":{
    "hello":{"type":"send","channel":"email","template":"welcome","next":"done"},"done":{"type":"exit"}}})");
  set_traits(R"({"email":"a@b.c"})");
  int sent = 0, capped = 0;
  for (int i = 0; i < 3; ++i) {
    Decision d = on(track("Go"));
    sent += static_cast<int>(d.deliveries.size());
    capped += static_cast<int>(counted(d, "suppressed:frequency_cap"));
    now += kHour;
  }
  EXPECT_EQ(sent, 2);
  EXPECT_EQ(capped, 1);
  now += kDay;
  EXPECT_EQ(on(track("Go")).deliveries.size(), 1u);
}

struct QuietHoursEngine : Engine {
  QuietHoursEngine() {
    cat.channels["sms"].quiet_hours = QuietHours{21 * 60, 8 * 60};
    deploy(R"({"id":"q","entry":{"event":"Go"},"key":"properties.cart_id","start":"remind","steps":{
      "remind":{"type":"send","channel":"sms","template":"cart","next":"done"},"done":{"type":"exit"}}})");
    set_traits(R"({"phone":"+15550000","timezone":"America/New_York"})");
  }
};

TEST_F(QuietHoursEngine, ASendInsideQuietHoursIsDeferredToTheLocalEndOfTheWindow) {
  now = at("2026-11-03T03:00:00Z");  // 22:00 EST on Nov 2
  Decision d = on(track("Go", R"({"cart_id":"A"})"));
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_EQ(counted(d, "deferred", "remind"), 1);
  const Instance* inst = find("q");
  ASSERT_TRUE(inst);
  EXPECT_EQ(inst->timer_due, at("2026-11-03T13:00:00Z"));  // 08:00 EST
  EXPECT_TRUE(traced("deferred: quiet_hours until 2026-11-03T13:00:00.000Z"));

  now = inst->timer_due;
  Decision sent = fire(inst->timer_id);
  ASSERT_EQ(sent.deliveries.size(), 1u);
  EXPECT_EQ(sent.deliveries[0].at, now);
  EXPECT_EQ(sent.deliveries[0].content.at("text"), "Cart A");
  EXPECT_FALSE(find("q"));
}

TEST_F(QuietHoursEngine, ADeferredSendIsCheckedAgainWhenItsTimerFires) {
  now = at("2026-11-03T03:00:00Z");
  on(track("Go", R"({"cart_id":"A"})"));
  s.traits["unsubscribed"] = true;
  now = find("q")->timer_due;
  Decision d = fire(find("q")->timer_id);
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_EQ(counted(d, "suppressed:unsubscribed"), 1);
}

TEST_F(QuietHoursEngine, OutsideQuietHoursTheSendGoesOutAtOnce) {
  now = at("2026-11-02T17:00:00Z");  // 12:00 EST
  EXPECT_EQ(on(track("Go", R"({"cart_id":"A"})")).deliveries.size(), 1u);
}

TEST(QuietHours, TheWindowEndFollowsDaylightSavingTime) {
  const QuietHours q{21 * 60, 8 * 60};
  // 22:00 EDT on Oct 31 2026; clocks fall back that night, so 08:00 is EST (-5).
  EXPECT_EQ(engine_detail::quiet_hours_end(q, "America/New_York", at("2026-11-01T02:00:00Z")),
            at("2026-11-01T13:00:00Z"));
  // Early morning side of a window that wraps midnight ends the same day.
  EXPECT_EQ(engine_detail::quiet_hours_end(q, "America/New_York", at("2026-11-02T10:00:00Z")),
            at("2026-11-02T13:00:00Z"));
  EXPECT_EQ(engine_detail::quiet_hours_end(q, "America/New_York", at("2026-11-02T14:00:00Z")), std::nullopt);
  // An unknown zone falls back to UTC.
  EXPECT_EQ(engine_detail::quiet_hours_end(q, "Mars/Olympus", at("2026-11-02T22:00:00Z")),
            at("2026-11-03T08:00:00Z"));
  EXPECT_EQ(engine_detail::quiet_hours_end(q, "../../etc/passwd", at("2026-11-02T22:00:00Z")),
            at("2026-11-03T08:00:00Z"));
  // A window within one day.
  const QuietHours lunch{12 * 60, 13 * 60};
  EXPECT_EQ(engine_detail::quiet_hours_end(lunch, "", at("2026-11-02T12:30:00Z")), at("2026-11-02T13:00:00Z"));
  EXPECT_EQ(engine_detail::quiet_hours_end(lunch, "", at("2026-11-02T13:00:00Z")), std::nullopt);
}

// ---- idempotency keys -----------------------------------------------------------------------

TEST_F(Engine, ReplayingAnEventOnACopyOfThePriorStateGivesTheSameDeliveryKey) {
  deploy(kWelcome);
  set_traits(R"({"email":"a@b.c"})");
  on(track("Other"));
  const CustomerState prior = s;
  Decision first = on(track("Signed Up"));
  CustomerState replay = prior;
  Decision second = on_event(replay, cat, track("Signed Up"), now);
  ASSERT_EQ(first.deliveries.size(), 1u);
  ASSERT_EQ(second.deliveries.size(), 1u);
  EXPECT_EQ(first.deliveries[0].id, second.deliveries[0].id);
  EXPECT_TRUE(std::regex_match(first.deliveries[0].id, std::regex("d[0-9a-f]{32}")));
  // The next entry is a new instance: a new key.
  Decision third = on(track("Signed Up"));
  ASSERT_EQ(third.deliveries.size(), 1u);
  EXPECT_NE(third.deliveries[0].id, first.deliveries[0].id);
}

TEST_F(Engine, DeliveryKeysDifferAcrossStepsAndRepeatedVisits) {
  deploy(R"({"id":"loop","entry":{"event":"Go"},"start":"a","steps":{
    "a":{"type":"send","channel":"inbox","template":"note","next":"b"},
    "b":{"type":"send","channel":"inbox","template":"note","next":"w"},
    "w":{"type":"wait","duration":"1d","next":"a"}}})");
  Decision d = on(track("Go"));
  ASSERT_EQ(d.deliveries.size(), 2u);
  now += kDay;
  Decision again = fire(find("loop")->timer_id);
  ASSERT_EQ(again.deliveries.size(), 2u);
  std::set<std::string> ids{d.deliveries[0].id, d.deliveries[1].id, again.deliveries[0].id,
                            again.deliveries[1].id};
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(again.deliveries[0].id,
            engine_detail::idempotency_key("u1", find("loop")->id, "a", 4));
}

TEST(IdempotencyKey, DependsOnEveryPart) {
  using engine_detail::idempotency_key;
  const std::string k = idempotency_key("u1", "j@1#1", "a", 1);
  EXPECT_EQ(k, idempotency_key("u1", "j@1#1", "a", 1));
  EXPECT_NE(k, idempotency_key("u2", "j@1#1", "a", 1));
  EXPECT_NE(k, idempotency_key("u1", "j@1#2", "a", 1));
  EXPECT_NE(k, idempotency_key("u1", "j@1#1", "b", 1));
  EXPECT_NE(k, idempotency_key("u1", "j@1#1", "a", 2));
  EXPECT_EQ(k.size(), 33u);
}

// ---- more steps, keys, exits and re-entry (issue 2 unit coverage) ---------------------

TEST_F(Engine, AWaitEventWithoutATimeoutSetsNoTimerAndContinuesOnTheEvent) {
  deploy(R"({"id":"we","entry":{"event":"Signed Up"},"start":"w","steps":{
    "w":{"type":"wait_event","event":"Clicked","next":"hello"},
    "hello":{"type":"send","channel":"inbox","template":"note","next":"done"},
    "done":{"type":"exit"}}})");
  Decision entered = on(track("Signed Up"));
  EXPECT_TRUE(entered.timers_set.empty());
  ASSERT_TRUE(find("we"));
  EXPECT_EQ(find("we")->timer_id, "");
  EXPECT_TRUE(traced("waiting for Clicked"));
  now += 400 * kDay;
  EXPECT_TRUE(on(track("Other")).deliveries.empty());
  EXPECT_TRUE(find("we"));
  Decision d = on(track("Clicked", R"({"n":3})"));
  ASSERT_EQ(d.deliveries.size(), 1u);
  EXPECT_EQ(d.deliveries[0].content.at("title"), "Note 3");
  EXPECT_FALSE(find("we"));
}

TEST_F(Engine, AKeyedWaitEventMatchesAnEventWithTheSameKeyButNotAnotherKey) {
  deploy(kCart);
  on(track("Cart Updated", R"({"cart_id":"A"})"));
  on(track("Order Completed", R"({"cart_id":"B"})"));
  EXPECT_TRUE(find("cart", "A")) << "another cart's order";
  on(track("Order Completed", R"({"cart_id":"A"})"));
  EXPECT_FALSE(find("cart", "A"));
}

TEST_F(Engine, AKeyedWaitEventMatchesAnEventWithoutAKeyInEveryInstance) {
  deploy(kCart);
  on(track("Cart Updated", R"({"cart_id":"A"})"));
  on(track("Cart Updated", R"({"cart_id":"B"})"));
  const std::string timer_a = find("cart", "A")->timer_id;
  Decision d = on(track("Order Completed"));
  EXPECT_TRUE(s.instances.empty()) << "an order with no cart id ends every cart's wait";
  EXPECT_EQ(counted(d, "exited:completed"), 2);
  EXPECT_TRUE(has_timer(d.timers_cleared, timer_a));
}

// Exit, goal and wait_event of a keyed journey follow one rule: an event with a
// key value applies to the instance with that key only, one without a key value
// to every instance of the customer.
TEST_F(Engine, ExitGoalAndWaitEventApplyTheSameKeyRule) {
  const std::string tail = R"(,"key":"properties.k","start":"w","steps":{"done":{"type":"exit"},)";
  deploy(R"({"id":"by_exit","entry":{"event":"Go"},"exit":[{"event":"Hit"}])" + tail +
         R"("w":{"type":"wait","duration":"1d","next":"done"}}})");
  deploy(R"({"id":"by_goal","entry":{"event":"Go"},"goal":{"event":"Hit"})" + tail +
         R"("w":{"type":"wait","duration":"1d","next":"done"}}})");
  deploy(R"({"id":"by_wait","entry":{"event":"Go"})" + tail +
         R"("w":{"type":"wait_event","event":"Hit","timeout":"1d","next":"done","timeout_next":"done"}}})");
  for (const char* k : {"A", "B", "C"})
    on(track("Go", (std::string(R"({"k":")") + k + "\"}").c_str()));
  ASSERT_EQ(s.instances.size(), 9u);
  on(track("Hit", R"({"k":"B"})"));
  for (const char* j : {"by_exit", "by_goal", "by_wait"}) {
    EXPECT_TRUE(find(j, "A")) << j;
    EXPECT_FALSE(find(j, "B")) << j << ": its own key";
    EXPECT_TRUE(find(j, "C")) << j;
  }
  on(track("Hit"));
  EXPECT_TRUE(s.instances.empty()) << "an event without the key applies to every instance";
}

// The shipped sample (config/journeys/trial-onboarding.journey.json): a plain
// `Feature Used` (no trial_id) during the nudge wait ends the journey, so the
// customer who used the feature gets no push or SMS nudge.
TEST_F(Engine, ShippedTrialOnboardingNudgeWaitEndsOnAFeatureUsedWithoutTrialId) {
  const std::string dir = std::string(WAYMARK_SOURCE_DIR) + "/config/journeys/";
  auto read = [&](const std::string& name) {
    std::ifstream in(dir + name);
    EXPECT_TRUE(in) << dir + name;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  cat.channels["push"] = ChannelPolicy{"push", "push_token", false, std::nullopt, std::nullopt};
  for (const char* t : {"welcome", "nudge_push", "nudge_sms"})
    add_template(read(std::string(t) + ".template.json").c_str());
  std::vector<ValidationError> errors;
  ValidationContext ctx;
  ctx.channels = {"email", "sms", "push"};
  JourneyPtr j = parse_journey(json::parse(read("trial-onboarding.journey.json")), ctx, errors);
  ASSERT_TRUE(j) << errors.at(0).path << ": " << errors.at(0).message;
  deploy(std::make_shared<Journey>(*j));
  set_traits(R"({"email":"a@b.c","phone":"+4915100000","push_token":"tok"})");

  ASSERT_EQ(on(track("Trial Started", R"({"trial_id":"T1"})")).deliveries.size(), 1u) << "welcome";
  now += 2 * kDay;
  fire(find("trial-onboarding")->timer_id);
  ASSERT_TRUE(find("trial-onboarding"));
  ASSERT_EQ(find("trial-onboarding")->step, "nudge");
  const std::string nudge_timer = find("trial-onboarding")->timer_id;

  now += kHour;
  Decision used = on(track("Feature Used"));
  EXPECT_FALSE(find("trial-onboarding")) << "the feature was used: the nudge wait is over";
  EXPECT_EQ(counted(used, "exited:completed"), 1);
  EXPECT_TRUE(has_timer(used.timers_cleared, nudge_timer));
  now += 3 * kDay;
  Decision later = fire(nudge_timer);
  EXPECT_TRUE(later.deliveries.empty()) << "no nudge for a customer who used the feature";
}

TEST_F(Engine, KeyedInstancesCanBeKeyedByATrait) {
  deploy(R"({"id":"acct","entry":{"event":"Go"},"key":"traits.account","start":"w","steps":{
    "w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})");
  set_traits(R"({"account":7})");
  on(track("Go"));
  ASSERT_TRUE(find("acct"));
  EXPECT_EQ(find("acct")->key, std::optional<std::string>("7"));
}

TEST_F(Engine, AnIdentifyThatMeetsAnExitConditionEndsAnInstanceWhileItWaits) {
  deploy(R"({"id":"trial","entry":{"event":"Trial Started"},
    "exit":[{"when":{"path":"traits.plan","op":"eq","value":"pro"}}],"start":"w","steps":{
    "w":{"type":"wait_event","event":"Feature Used","timeout":"3d","next":"done","timeout_next":"done"},
    "done":{"type":"exit"}}})");
  on(track("Trial Started"));
  const std::string timer = find("trial")->timer_id;
  now += kHour;
  Decision same = on(identify(R"({"plan":"free"})"));
  EXPECT_TRUE(find("trial"));
  EXPECT_EQ(counted(same, "exited:exit_criteria"), 0);
  Decision d = on(identify(R"({"plan":"pro"})"));
  EXPECT_FALSE(find("trial"));
  EXPECT_EQ(counted(d, "exited:exit_criteria", "w"), 1);
  EXPECT_TRUE(has_timer(d.timers_cleared, timer));
  now += 3 * kDay;
  EXPECT_FALSE(fire(timer).changed);
}

TEST_F(Engine, AnExitEventWithAConditionEndsTheInstanceOnlyWhenTheConditionHolds) {
  deploy(R"({"id":"x","entry":{"event":"Go"},
    "exit":[{"event":"Downgraded","when":{"path":"event.properties.to","op":"eq","value":"free"}}],
    "start":"w","steps":{"w":{"type":"wait","duration":"2d","next":"done"},"done":{"type":"exit"}}})");
  on(track("Go"));
  on(track("Downgraded", R"({"to":"basic"})"));
  EXPECT_TRUE(find("x"));
  Decision d = on(track("Downgraded", R"({"to":"free"})"));
  EXPECT_FALSE(find("x"));
  EXPECT_EQ(counted(d, "exited:exit_criteria"), 1);
}

TEST_F(Engine, AGoalReachedWhileWaitingForAnEventEndsTheInstanceAndItsTimers) {
  deploy(R"({"id":"g","entry":{"event":"Trial Started"},
    "goal":{"event":"Order Completed","when":{"path":"event.properties.revenue","op":"gt","value":0}},
    "timeout":"30d","start":"w","steps":{
    "w":{"type":"wait_event","event":"Feature Used","timeout":"3d","next":"done","timeout_next":"done"},
    "done":{"type":"exit"}}})");
  on(track("Trial Started"));
  const Instance copy = *find("g");
  Decision free_order = on(track("Order Completed", R"({"revenue":0})"));
  EXPECT_EQ(counted(free_order, "goal"), 0);
  EXPECT_TRUE(find("g"));
  Decision d = on(track("Order Completed", R"({"revenue":"12"})"));
  EXPECT_EQ(counted(d, "goal"), 0) << "a string is not greater than a number";
  d = on(track("Order Completed", R"({"revenue":12})"));
  EXPECT_EQ(counted(d, "goal"), 1);
  EXPECT_EQ(counted(d, "goal_value"), 0) << "no value path, no value";
  EXPECT_EQ(counted(d, "exited:goal", "w"), 1);
  EXPECT_TRUE(has_timer(d.timers_cleared, copy.timer_id));
  EXPECT_TRUE(has_timer(d.timers_cleared, copy.timeout_timer_id));
  EXPECT_TRUE(traced("goal Order Completed"));
}

TEST_F(Engine, AJourneyTimeoutAlsoEndsAnInstanceWaitingForAnEvent) {
  deploy(R"({"id":"t","entry":{"event":"Go"},"timeout":"1d","start":"w","steps":{
    "w":{"type":"wait_event","event":"Never","next":"done"},"done":{"type":"exit"}}})");
  on(track("Go"));
  const Instance copy = *find("t");
  EXPECT_EQ(copy.timer_id, "");
  now += kDay;
  Decision d = fire(copy.timeout_timer_id);
  EXPECT_EQ(counted(d, "exited:timeout", "w"), 1);
  EXPECT_FALSE(find("t"));
}

TEST_F(Engine, ReentryNeverHoldsEvenForAnEntryAtTheEpoch) {
  deploy(R"({"id":"once","entry":{"event":"Go"},"reentry":{"mode":"never"},
    "start":"done","steps":{"done":{"type":"exit"}}})");
  now = 0;  // a manual clock may be set anywhere
  EXPECT_EQ(counted(on(track("Go")), "entered"), 1);
  EXPECT_EQ(counted(on(track("Go")), "entered"), 0);
  EXPECT_TRUE(traced("not entered: reentry_never"));
}

TEST_F(Engine, CooldownAppliesToAfterExitEntriesToo) {
  deploy(R"({"id":"c","entry":{"event":"Go"},"reentry":{"mode":"after_exit","cooldown":"7d"},
    "start":"w","steps":{"w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})");
  on(track("Go"));
  now += kDay;
  fire(find("c")->timer_id);
  ASSERT_FALSE(find("c"));
  EXPECT_EQ(counted(on(track("Go")), "entered"), 0);
  EXPECT_TRUE(traced("not entered: cooldown"));
  now += 6 * kDay;
  EXPECT_EQ(counted(on(track("Go")), "entered"), 1);
}

// The cooldown is per customer and journey: a new key (a second trial) does
// not start a new cooldown count of its own.
TEST_F(Engine, CooldownCountsPerCustomerAndJourneyWhateverTheKey) {
  deploy(R"({"id":"trial","entry":{"event":"Trial Started"},"key":"properties.trial_id",
    "reentry":{"mode":"after_exit","cooldown":"7d"},
    "start":"w","steps":{"w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})");
  on(track("Trial Started", R"({"trial_id":"T1"})"));
  now += kDay;
  fire(find("trial")->timer_id);
  ASSERT_FALSE(find("trial"));
  now += 4 * kDay;
  EXPECT_EQ(counted(on(track("Trial Started", R"({"trial_id":"T2"})")), "entered"), 0) << "day 5, a new key";
  EXPECT_TRUE(traced("not entered: cooldown"));
  now += 2 * kDay;
  EXPECT_EQ(counted(on(track("Trial Started", R"({"trial_id":"T3"})")), "entered"), 1) << "day 7";
  now += kDay;
  EXPECT_EQ(counted(on(track("Trial Started", R"({"trial_id":"T4"})")), "entered"), 0)
    << "the cooldown counts from the newest entry, under any key";
}

TEST_F(Engine, AJumpToAnUnknownJourneyEndsThisOneAndEntersNothing) {
  deploy(R"({"id":"first","entry":{"event":"Go"},"start":"j","steps":{"j":{"type":"jump","journey":"ghost"}}})");
  Decision d = on(track("Go"));
  EXPECT_EQ(counted(d, "exited:jump"), 1);
  EXPECT_EQ(counted(d, "entered"), 1);
  EXPECT_TRUE(s.instances.empty());
  EXPECT_TRUE(traced("not entered: unknown_journey"));
}

TEST_F(Engine, AnUpdateWithNullRemovesATrait) {
  deploy(R"({"id":"u","entry":{"event":"Go"},"start":"tag","steps":{
    "tag":{"type":"update","set":{"traits.stage":null,"traits.seen":true},"next":"done"},"done":{"type":"exit"}}})");
  set_traits(R"({"stage":"old","email":"a@b.c"})");
  on(track("Go"));
  EXPECT_EQ(s.traits, json::parse(R"({"email":"a@b.c","seen":true})").as_object());
}

TEST_F(Engine, ASplitVariantDependsOnTheCustomerNotOnTime) {
  deploy(kSplit);
  std::set<std::string> seen;
  for (int i = 0; i < 40; ++i) {
    CustomerState a, b;
    const std::string user = "c" + std::to_string(i);
    on_event(a, cat, track("Go", "{}", user), now);
    on_event(b, cat, track("Go", "{}", user), now + 1000 * kDay);
    EXPECT_EQ(a.traits.at("variant"), b.traits.at("variant")) << user;
    seen.insert(std::string(a.traits.at("variant").as_string()));
  }
  EXPECT_EQ(seen.size(), 2u) << "both variants are used";
}

}  // namespace
}  // namespace waymark
