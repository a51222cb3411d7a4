// Replay: the engine is a pure function of (stored state, catalog, input, now),
// and the stored state document carries everything the engine reads.
//
// This is the precondition of the append-only event log chosen in
// bench/README.md (Storage layout): the log keeps each customer's inputs (events
// and fired timers, with the instant they ran at) and a snapshot of the state now
// and then; after a crash, a customer is its last snapshot plus the inputs logged
// after it. That is only sound if replaying those inputs from the snapshot gives
// back, byte for byte, the states the node committed and the same decisions
// (delivery idempotency keys, rendered content, timers, stats), so that the
// outbox entries and timers committed the first time are the ones replay
// would produce. The test drives one customer through a long random mix of the
// headline workload's events and the timers they set (fixed seed), keeps the
// state document after every input, then restarts from many of those documents
// (parsed back, as rehydration does) and replays the rest.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "waymark/engine.hpp"

namespace waymark {
namespace {

namespace json = boost::json;

constexpr Millis kMin = 60 * 1000;
constexpr Millis kDay = 24 * 60 * kMin;

const char* const kJourneys[] = {
    // config/journeys/trial-onboarding.journey.json, with the push step's channel
    R"({"id":"trial-onboarding","entry":{"event":"Trial Started"},"key":"properties.trial_id",
        "reentry":{"mode":"after_exit","cooldown":"7d"},
        "exit":[{"event":"Unsubscribed"},{"when":{"path":"traits.plan","op":"eq","value":"pro"}}],
        "goal":{"event":"Order Completed","within":"30d","value":"properties.revenue"},
        "timeout":"90d","start":"welcome","steps":{
        "welcome":{"type":"send","channel":"email","template":"welcome","next":"wait1"},
        "wait1":{"type":"wait","duration":"2d","next":"check"},
        "check":{"type":"branch","cases":[{"when":{"count":{"event":"Feature Used","within":"7d"},"op":"gte",
                 "value":3},"next":"done"}],"default":"nudge"},
        "nudge":{"type":"wait_event","event":"Feature Used","timeout":"3d","next":"done","timeout_next":"ab"},
        "ab":{"type":"split","variants":[{"name":"push","weight":50,"next":"p"},{"name":"sms","weight":50,"next":"s"}]},
        "p":{"type":"send","channel":"push","template":"nudge_push","next":"tag"},
        "s":{"type":"send","channel":"sms","template":"nudge_sms","next":"tag"},
        "tag":{"type":"update","set":{"traits.stage":"nudged"},"next":"done"},
        "done":{"type":"exit"}}})",
    // config/journeys/abandoned-cart.journey.json
    R"({"id":"abandoned-cart","entry":{"event":"Product Added"},"key":"properties.cart_id",
        "reentry":{"mode":"always"},"exit":[{"event":"Order Completed"}],"start":"wait","steps":{
        "wait":{"type":"wait_event","event":"Order Completed","timeout":"1h","next":"done","timeout_next":"remind"},
        "remind":{"type":"send","channel":"email","template":"cart_reminder","next":"done"},
        "done":{"type":"exit"}}})",
    // waymark-load's third journey
    R"({"id":"feature-adoption","entry":{"event":"Feature Used"},"start":"mark","steps":{
        "mark":{"type":"update","set":{"traits.adopted":true},"next":"wait"},
        "wait":{"type":"wait","duration":"1d","next":"done"},"done":{"type":"exit"}}})",
    // an edge-triggered condition entry
    R"({"id":"vip","entry":{"when":{"path":"traits.plan","op":"eq","value":"pro"}},"start":"n","steps":{
        "n":{"type":"send","channel":"inbox","template":"note","next":"done"},"done":{"type":"exit"}}})"};

const char* const kTemplates[] = {
    R"({"id":"cart_reminder","channel":"email","subject":"You left something in your cart",
        "body":"<p>{{traits.first_name|Hi}}, cart {{entry.properties.cart_id}} ({{entry.properties.total|}} EUR).</p>"})",
    R"({"id":"nudge_push","channel":"push","body":"{{traits.first_name|Hey}}, try the reports view today."})",
    R"({"id":"nudge_sms","channel":"sms","body":"{{traits.first_name|Hi}}: your trial ends soon."})",
    R"({"id":"welcome","channel":"email","subject":"Welcome, {{traits.first_name|there}}",
        "body":"<p>Hi {{traits.first_name|there}}, your trial {{entry.properties.trial_id|}} has started.</p>"})",
    R"({"id":"note","channel":"inbox","title":"Note {{event.properties.n|none}}"})"};

Catalog make_catalog() {
  Catalog cat;
  // A frequency cap and quiet hours, so the decisions depend on the send history
  // and on the time of day, both of which replay must see as the first run did.
  cat.channels["email"] = ChannelPolicy{"email", "email", true, std::make_pair(2, kDay), std::nullopt};
  cat.channels["sms"] = ChannelPolicy{"sms", "phone", false, std::nullopt, QuietHours{21 * 60, 8 * 60}};
  cat.channels["push"] = ChannelPolicy{"push", "", false, std::nullopt, std::nullopt};
  cat.channels["inbox"] = ChannelPolicy{"inbox", "", false, std::nullopt, std::nullopt};
  std::vector<ValidationError> errors;
  for (const char* text : kTemplates) {
    TemplatePtr t = parse_template(json::parse(text), errors);
    EXPECT_TRUE(t) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
    if (t)
      cat.templates[t->id] = t;
  }
  ValidationContext vctx;
  vctx.channels = {"email", "sms", "push", "inbox"};
  for (const char* text : kJourneys) {
    JourneyPtr j = parse_journey(json::parse(text), vctx, errors);
    EXPECT_TRUE(j) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
    if (!j)
      continue;
    auto copy = std::make_shared<Journey>(*j);
    copy->version = 1;
    cat.journeys[copy->id].versions.push_back(copy);
    cat.journeys[copy->id].status = JourneyStatus::active;
  }
  return cat;
}

/// One logged input: an event, or a timer of this customer that fired.
struct Input {
  Millis now = 0;
  std::optional<Event> event;
  std::string timer_id;
};

/// Everything a decision commits, as text, so two runs compare exactly.
std::string digest(const Decision& d) {
  json::object o;
  o["changed"] = d.changed;
  json::array deliveries;
  for (const auto& dl : d.deliveries)
    deliveries.push_back(dl.to_json());
  o["deliveries"] = std::move(deliveries);
  auto timers = [](const std::vector<TimerRef>& ts) {
    json::array a;
    for (const auto& t : ts)
      a.push_back(json::array{t.due, json::string(t.id)});
    return a;
  };
  o["timers_set"] = timers(d.timers_set);
  o["timers_cleared"] = timers(d.timers_cleared);
  json::array stats;
  for (const auto& s : d.stats)
    stats.push_back(json::array{json::string(s.journey), s.version, json::string(s.step), json::string(s.counter), s.n});
  o["stats"] = std::move(stats);
  return json::serialize(o);
}

/// The customer's pending timers due at or before `now`, earliest first (the
/// order the timer service fires them in).
std::vector<std::pair<Millis, std::string>> due_timers(const CustomerState& s, Millis now) {
  std::vector<std::pair<Millis, std::string>> due;
  for (const auto& in : s.instances) {
    if (!in.timer_id.empty() && in.timer_due <= now)
      due.emplace_back(in.timer_due, in.timer_id);
    if (!in.timeout_timer_id.empty() && in.timeout_due <= now)
      due.emplace_back(in.timeout_due, in.timeout_timer_id);
  }
  std::sort(due.begin(), due.end());
  return due;
}

Decision apply(CustomerState& s, const Catalog& cat, const Input& in) {
  return in.event ? on_event(s, cat, *in.event, in.now) : on_timer(s, cat, in.timer_id, in.now);
}

/// The reference run: inputs drawn with `seed` (the headline's event mix, a
/// handful of cart and trial ids so keyed instances repeat, time moving by
/// seconds to days), timers fired when due. Returns the inputs, and after each
/// one the state document and the decision.
struct Reference {
  std::vector<Input> inputs;
  std::vector<std::string> states;  // states[i]: after inputs[i]
  std::vector<std::string> decisions;
};

Reference record(const Catalog& cat, uint32_t seed, size_t events) {
  std::mt19937 rng(seed);
  Reference ref;
  CustomerState s;
  s.id = "u-replay";
  Millis now = 1795000000000;  // 2026-11-18
  auto step = [&](Input in) {
    Decision d = apply(s, cat, in);
    ref.inputs.push_back(std::move(in));
    ref.states.push_back(serialize_state(s));
    ref.decisions.push_back(digest(d));
  };
  const Millis gaps[] = {1000, 30 * 1000, 10 * kMin, 2 * 60 * kMin, 13 * 60 * kMin, kDay, 3 * kDay};
  for (size_t n = 0; n < events; ++n) {
    now += gaps[rng() % (sizeof gaps / sizeof *gaps)] + static_cast<Millis>(rng() % 1000);
    for (const auto& [due, id] : due_timers(s, now)) {
      Input t;
      t.now = std::max(due, now - 500);  // fired shortly after it was due, as a busy node would
      t.timer_id = id;
      step(std::move(t));
    }
    Event e;
    e.user_id = s.id;
    e.message_id = "m-" + std::to_string(seed) + "-" + std::to_string(n);
    e.timestamp = now - static_cast<Millis>(rng() % 5000);
    const unsigned kind = rng() % 100;
    if (n == 0 || kind < 10) {
      e.type = EventType::identify;
      static const char* const plans[] = {"free", "trial", "pro", "free"};
      e.traits = json::object{{"first_name", n % 3 ? "Zoë" : "Al & <b>"},
                              {"plan", plans[rng() % 4]},
                              {"email", "u@example.com"},
                              {"phone", "+4915100000000"},
                              {"timezone", rng() % 2 ? "Europe/Berlin" : "America/New_York"}};
    } else {
      e.type = EventType::track;
      if (kind < 45) {
        e.name = "Page Viewed";
        e.properties = json::object{{"path", "/p/" + std::to_string(rng() % 50)}, {"n", n}};
      } else if (kind < 65) {
        e.name = "Feature Used";
        e.properties = json::object{{"feature", "reports"}};
      } else if (kind < 80) {
        e.name = "Product Added";
        e.properties = json::object{{"cart_id", "c" + std::to_string(rng() % 4)}, {"total", 12.5 * (rng() % 9)}};
      } else if (kind < 88) {
        e.name = "Order Completed";
        e.properties = json::object{{"revenue", 10 + rng() % 90}};
      } else if (kind < 97) {
        e.name = "Trial Started";
        e.properties = json::object{{"trial_id", "t" + std::to_string(rng() % 3)}};
      } else {
        e.name = "Unsubscribed";
      }
    }
    Input in;
    in.now = now;
    in.event = std::move(e);
    step(std::move(in));
  }
  return ref;
}

CustomerState rehydrate(const std::string& document) {
  auto parsed = customer_from_json(json::parse(document));
  EXPECT_TRUE(parsed) << parsed.error().message;
  return parsed ? std::move(*parsed) : CustomerState{};
}

/// From the state after input `cut` (or a fresh state when cut is npos), replays
/// the rest and compares every state and decision with the reference.
void replay_from(const Catalog& cat, const Reference& ref, size_t cut) {
  CustomerState s;
  s.id = "u-replay";
  size_t first = 0;
  if (cut != std::string::npos) {
    s = rehydrate(ref.states[cut]);
    first = cut + 1;
  }
  for (size_t i = first; i < ref.inputs.size(); ++i) {
    Decision d = apply(s, cat, ref.inputs[i]);
    ASSERT_EQ(digest(d), ref.decisions[i]) << "decision of input " << i << " replayed from " << cut;
    ASSERT_EQ(serialize_state(s), ref.states[i]) << "state after input " << i << " replayed from " << cut;
  }
}

TEST(Replay, TheWorkloadExercisesEveryKindOfDecision) {
  // Guards the test itself: a mix that never sent, deferred, capped or fired a
  // timer would let a replay bug in those paths pass.
  const Catalog cat = make_catalog();
  const Reference ref = record(cat, 20261202, 600);
  size_t sends = 0, timer_inputs = 0, timers_set = 0;
  std::set<std::string> counters;
  for (size_t i = 0; i < ref.inputs.size(); ++i) {
    timer_inputs += ref.inputs[i].event ? 0 : 1;
    json::object d = json::parse(ref.decisions[i]).as_object();
    sends += d["deliveries"].as_array().size();
    timers_set += d["timers_set"].as_array().size();
    for (const auto& s : d["stats"].as_array())
      counters.insert(std::string(s.as_array()[3].as_string()));
  }
  EXPECT_GT(sends, 20u);
  EXPECT_GT(timer_inputs, 50u);
  EXPECT_GT(timers_set, 50u);
  for (const char* c : {"entered", "goal", "sent", "deferred"})
    EXPECT_TRUE(counters.count(c)) << c << " never counted";
  bool suppressed = false, exited = false;
  for (const auto& c : counters) {
    suppressed |= c.rfind("suppressed:", 0) == 0;
    exited |= c.rfind("exited:", 0) == 0;
  }
  std::string seen;
  for (const auto& c : counters)
    seen += c + " ";
  EXPECT_TRUE(suppressed) << seen;
  EXPECT_TRUE(exited) << seen;
}

TEST(Replay, FromAFreshStateGivesTheSameRun) {
  const Catalog cat = make_catalog();
  const Reference ref = record(cat, 20261202, 600);
  replay_from(cat, ref, std::string::npos);
}

TEST(Replay, FromAnySnapshotGivesTheSameStatesAndDecisions) {
  const Catalog cat = make_catalog();
  for (uint32_t seed : {20261202u, 7u}) {
    const Reference ref = record(cat, seed, 400);
    // Every early cut (first entries, first timers), then one in 23.
    for (size_t cut = 0; cut + 1 < ref.inputs.size(); cut += cut < 12 ? 1 : 23) {
      replay_from(cat, ref, cut);
      if (::testing::Test::HasFatalFailure())
        return;
    }
  }
}

TEST(Replay, ASnapshotReadBackWritesTheSameDocument) {
  // Rehydrating and writing again without any input must not change a byte: a
  // snapshot taken at passivation equals the state the log led to.
  const Catalog cat = make_catalog();
  const Reference ref = record(cat, 99, 300);
  for (const auto& doc : ref.states)
    ASSERT_EQ(serialize_state(rehydrate(doc)), doc);
}

}  // namespace
}  // namespace waymark
