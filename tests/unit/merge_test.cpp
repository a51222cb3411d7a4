// Identify / alias merge (PRODUCT.md §4): merge_customer moves an anonymous
// customer's profile, history, journey instances and re-entry memory into the
// known customer (src/journey/engine_merge.cpp), and the merged state survives
// its JSON form (src/journey/customer_state.cpp).
#include <gtest/gtest.h>

#include <algorithm>

#include "waymark/engine.hpp"

namespace waymark {
namespace {

namespace json = boost::json;

constexpr Millis kHour = 3600 * 1000;
constexpr Millis kDay = 24 * kHour;

int64_t counted(const Decision& d, const std::string& counter) {
  int64_t n = 0;
  for (const auto& s : d.stats)
    if (s.counter == counter)
      n += s.n;
  return n;
}

struct Merge : ::testing::Test {
  Catalog cat;
  CustomerState known;  // "u1"
  CustomerState anon;   // "anon-7"
  Millis now = parse_rfc3339("2026-11-02T12:00:00Z").value();

  Merge() {
    known.id = "u1";
    anon.id = "anon-7";
    cat.channels["inbox"] = ChannelPolicy{"inbox", "", false, std::nullopt, std::nullopt};
  }

  void deploy(const std::string& text) {
    std::vector<ValidationError> errors;
    ValidationContext ctx;
    ctx.channels = {"inbox"};
    JourneyPtr parsed = parse_journey(json::parse(text), ctx, errors);
    ASSERT_TRUE(parsed) << errors.at(0).path << ": " << errors.at(0).message;
    auto j = std::make_shared<Journey>(*parsed);
    JourneyEntry& entry = cat.journeys[j->id];
    j->version = static_cast<int>(entry.versions.size()) + 1;
    entry.versions.push_back(j);
  }

  Event track(const std::string& user, const std::string& name, const char* props = "{}") {
    Event e;
    e.type = EventType::track;
    e.user_id = user;
    e.name = name;
    e.timestamp = now;
    e.properties = json::parse(props).as_object();
    return e;
  }

  Decision merge() { return merge_customer(known, std::move(anon), cat, now); }

  const Instance* find(const CustomerState& s, const std::string& journey,
                       std::optional<std::string> key = std::nullopt) {
    for (const auto& i : s.instances)
      if (i.journey == journey && (!key || i.key == key))
        return &i;
    return nullptr;
  }
};

const char* kWaiting = R"({"id":"w","entry":{"event":"Go"},"reentry":{"mode":"never"},"timeout":"30d",
  "start":"wait","steps":{"wait":{"type":"wait","duration":"2d","next":"done"},"done":{"type":"exit"}}})";

TEST_F(Merge, TheKnownCustomersTraitsWinAndTheAnonymousOnesFillTheGaps) {
  known.traits = json::parse(R"({"email":"known@x.y","plan":"pro"})").as_object();
  anon.traits = json::parse(R"({"email":"anon@x.y","utm":"ad"})").as_object();
  Decision d = merge();
  EXPECT_EQ(known.traits, json::parse(R"({"email":"known@x.y","plan":"pro","utm":"ad"})").as_object());
  EXPECT_TRUE(d.changed);
  EXPECT_EQ(known.id, "u1");
}

TEST_F(Merge, TheAnonymousIdIsRecordedOnceHoweverOftenItIsMerged) {
  merge();
  EXPECT_EQ(known.merged_ids, std::vector<std::string>{"anon-7"});
  // An identify carrying both ids after the alias hands over an empty state
  // under the same id: still one entry.
  CustomerState again;
  again.id = "anon-7";
  merge_customer(known, std::move(again), cat, now);
  EXPECT_EQ(known.merged_ids, std::vector<std::string>{"anon-7"});
  EXPECT_EQ(to_json(known).at("merged_ids"), json::parse(R"(["anon-7"])"));
}

TEST_F(Merge, IdsMergedEarlierIntoTheAnonymousCustomerComeAlongOnce) {
  anon.merged_ids = {"anon-3", "anon-7", "u1", "anon-3"};
  known.merged_ids = {"anon-1"};
  merge();
  EXPECT_EQ(known.merged_ids, (std::vector<std::string>{"anon-1", "anon-7", "anon-3"}));
}

TEST_F(Merge, AnAliasThenAnIdentifyWithBothIdsKeepsOneMergedId) {
  // The pure half of the alias-then-identify path: the identify that follows
  // the merge is an ordinary event for the known customer.
  merge();
  Event identify;
  identify.type = EventType::identify;
  identify.user_id = "u1";
  identify.anonymous_id = "anon-7";
  identify.timestamp = now;
  identify.traits = json::parse(R"({"first_name":"Ana"})").as_object();
  on_event(known, cat, identify, now);
  auto back = customer_from_json(json::parse(json::serialize(to_json(known))));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->merged_ids, std::vector<std::string>{"anon-7"});
}

TEST_F(Merge, HistoriesInterleaveByTime) {
  const Millis start = now;
  for (const char* name : {"A", "B", "C", "D"}) {
    bool to_known = name[0] == 'A' || name[0] == 'C';
    on_event(to_known ? known : anon, cat, track(to_known ? "u1" : "anon-7", name), now);
    now += kHour;
  }
  ASSERT_EQ(known.history.back().at, start + 2 * kHour);
  merge();
  std::vector<std::string> names;
  for (const auto& h : known.history)
    names.push_back(h.name);
  EXPECT_EQ(names, (std::vector<std::string>{"A", "B", "C", "D"}));
}

TEST_F(Merge, AMovedInstanceKeepsItsStepAndItsTimersAreSetAgainUnderTheKnownCustomer) {
  deploy(kWaiting);
  on_event(anon, cat, track("anon-7", "Go"), now);
  const Instance before = *find(anon, "w");
  now += kHour;
  Decision d = merge();
  const Instance* moved = find(known, "w");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->step, "wait");
  EXPECT_EQ(moved->entered_at, before.entered_at);
  ASSERT_EQ(d.timers_set.size(), 2u);
  EXPECT_EQ(d.timers_set[0].id, moved->timer_id);
  EXPECT_EQ(d.timers_set[0].due, before.timer_due);
  EXPECT_EQ(d.timers_set[1].id, moved->timeout_timer_id);
  EXPECT_EQ(d.timers_set[1].due, before.timeout_due);
  // The re-set step timer drives the instance on; the old id is unknown here.
  now = before.timer_due;
  const std::string old_timer = before.timer_id;
  const std::string new_timer = moved->timer_id;
  if (old_timer != new_timer) {
    EXPECT_FALSE(on_timer(known, cat, old_timer, now).changed);
  }
  Decision fired = on_timer(known, cat, new_timer, now);
  EXPECT_EQ(counted(fired, "exited:completed"), 1);
  EXPECT_TRUE(known.instances.empty());
}

TEST_F(Merge, AnInstanceOfAJourneyTheKnownCustomerAlreadyRunsIsDropped) {
  deploy(R"({"id":"cart","entry":{"event":"Cart Updated"},"key":"properties.cart_id","start":"w","steps":{
    "w":{"type":"wait","duration":"1h","next":"done"},"done":{"type":"exit"}}})");
  on_event(known, cat, track("u1", "Cart Updated", R"({"cart_id":"A"})"), now);
  on_event(anon, cat, track("anon-7", "Cart Updated", R"({"cart_id":"A"})"), now);
  on_event(anon, cat, track("anon-7", "Cart Updated", R"({"cart_id":"B"})"), now);
  const std::string kept = find(known, "cart", "A")->id;
  Decision d = merge();
  ASSERT_EQ(known.instances.size(), 2u);
  EXPECT_EQ(find(known, "cart", "A")->id, kept);
  EXPECT_TRUE(find(known, "cart", "B"));
  EXPECT_EQ(counted(d, "exited:merge_duplicate"), 1);
  EXPECT_EQ(d.timers_set.size(), 1u) << "only the moved instance's timer is set again";
}

TEST_F(Merge, InstanceAndTimerIdsStayUniqueAfterTheMerge) {
  deploy(R"({"id":"a","entry":{"event":"A"},"start":"w","steps":{
    "w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})");
  deploy(R"({"id":"b","entry":{"event":"B"},"start":"w","steps":{
    "w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})");
  on_event(known, cat, track("u1", "A"), now);
  on_event(anon, cat, track("anon-7", "B"), now);
  merge();
  on_event(known, cat, track("u1", "B"), now);  // refused: already active
  on_event(known, cat, track("u1", "Z"), now);
  ASSERT_EQ(known.instances.size(), 2u);
  EXPECT_NE(known.instances[0].id, known.instances[1].id);
  EXPECT_NE(known.instances[0].timer_id, known.instances[1].timer_id);
}

TEST_F(Merge, ReentryMemoryMovesSoANeverJourneyIsNotEnteredAgain) {
  deploy(kWaiting);
  on_event(anon, cat, track("anon-7", "Go"), now);
  now += 2 * kDay;
  on_timer(anon, cat, find(anon, "w")->timer_id, now);
  ASSERT_TRUE(anon.instances.empty());
  merge();
  Decision d = on_event(known, cat, track("u1", "Go"), now);
  EXPECT_EQ(counted(d, "entered"), 0);
}

TEST_F(Merge, AMovedInstanceWhoseExitConditionHoldsForTheMergedProfileEnds) {
  deploy(R"({"id":"trial","entry":{"event":"Go"},"exit":[{"when":{"path":"traits.plan","op":"eq","value":"pro"}}],
    "start":"w","steps":{"w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})");
  on_event(anon, cat, track("anon-7", "Go"), now);
  known.traits["plan"] = "pro";
  Decision d = merge();
  EXPECT_TRUE(known.instances.empty());
  EXPECT_EQ(counted(d, "exited:exit_criteria"), 1);
}

TEST_F(Merge, AConditionEntryAlreadyTakenByTheAnonymousCustomerIsNotTakenAgain) {
  deploy(R"({"id":"vip","entry":{"when":{"path":"traits.plan","op":"eq","value":"pro"}},"start":"w","steps":{
    "w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})");
  Event identify;
  identify.type = EventType::identify;
  identify.anonymous_id = "anon-7";
  identify.timestamp = now;
  identify.traits = json::parse(R"({"plan":"pro"})").as_object();
  on_event(anon, cat, identify, now);
  ASSERT_EQ(anon.instances.size(), 1u);
  Decision d = merge();
  EXPECT_EQ(counted(d, "entered"), 0);
  EXPECT_EQ(known.instances.size(), 1u);
}

TEST_F(Merge, MergedTraitsThatNewlySatisfyAConditionEntryEnterOnce) {
  deploy(R"({"id":"vip","entry":{"when":{"all":[{"path":"traits.plan","op":"eq","value":"pro"},
    {"path":"traits.country","op":"eq","value":"DE"}]}},"start":"w","steps":{
    "w":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})");
  known.traits["plan"] = "pro";
  anon.traits["country"] = "DE";
  Decision d = merge();
  EXPECT_EQ(counted(d, "entered"), 1);
  EXPECT_EQ(known.instances.size(), 1u);
}

TEST_F(Merge, TheMergedStateSurvivesItsJsonForm) {
  deploy(kWaiting);
  deploy(R"({"id":"cart","entry":{"event":"Cart Updated"},"key":"properties.cart_id","start":"w","steps":{
    "w":{"type":"wait_event","event":"Order Completed","next":"done"},"done":{"type":"exit"}}})");
  on_event(anon, cat, track("anon-7", "Go"), now);
  on_event(known, cat, track("u1", "Cart Updated", R"({"cart_id":"A"})"), now);
  anon.traits["utm"] = "ad";
  merge();
  auto back = customer_from_json(json::parse(json::serialize(to_json(known))));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(json::serialize(to_json(*back)), json::serialize(to_json(known)));
  EXPECT_EQ(back->instances.size(), 2u);
  EXPECT_EQ(find(*back, "cart", std::string("A"))->key, std::optional<std::string>("A"));
  EXPECT_EQ(find(*back, "w")->key, std::nullopt);
  EXPECT_EQ(back->next_seq, known.next_seq);
}

}  // namespace
}  // namespace waymark
