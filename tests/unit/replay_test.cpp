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
#include <functional>
#include <set>

#include "support/temp_dir.hpp"
#include "waymark/catalog.hpp"
#include "waymark/engine.hpp"
#include "waymark/recovery.hpp"
#include "waymark/store.hpp"

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


// ---- the input log built on it (store.hpp, src/store/recovery.cpp) ----------

/// The input as the customer actor logs it.
std::string encode(const Input& in, uint64_t generation = 0) {
  return in.event ? encode_event_input(*in.event, in.now, generation)
                  : encode_timer_input(in.timer_id, in.now, generation);
}

TEST(InputLog, LoggedInputsDecodeToInputsThatReplayTheSameRun) {
  const Catalog cat = make_catalog();
  const Reference ref = record(cat, 20261202, 400);
  CustomerState s;
  s.id = "u-replay";
  for (size_t i = 0; i < ref.inputs.size(); ++i) {
    auto in = decode_input(encode(ref.inputs[i], 7));
    ASSERT_TRUE(in) << in.error().message;
    EXPECT_EQ(in->generation, 7u);
    EXPECT_EQ(in->now, ref.inputs[i].now);
    Decision d = apply_input(s, cat, *in);
    ASSERT_EQ(digest(d), ref.decisions[i]) << "decision of decoded input " << i;
    ASSERT_EQ(serialize_state(s), ref.states[i]) << "state after decoded input " << i;
  }
  // Fields the workload does not use: alias ids, an event without messageId.
  Event alias;
  alias.type = EventType::alias;
  alias.user_id = "u1";
  alias.previous_id = "anon-1";
  alias.timestamp = 1795000000123;
  auto back = decode_input(encode_event_input(alias, 1795000000999, 0));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->ev.type, EventType::alias);
  EXPECT_EQ(back->ev.previous_id, "anon-1");
  EXPECT_EQ(back->ev.user_id, "u1");
  EXPECT_EQ(back->ev.timestamp, alias.timestamp);
  EXPECT_TRUE(back->ev.message_id.empty());
  EXPECT_FALSE(decode_input("x"));
  EXPECT_FALSE(decode_input(std::string(17, 'q')));
}

Config config_for(const Catalog& cat) {
  Config config;
  for (auto& [name, policy] : cat.channels) {
    ChannelConfig ch;
    ch.name = name;
    ch.policy = policy;
    config.channels[name] = ch;
  }
  return config;
}

std::unique_ptr<Store> open_store(const std::string& dir) {
  auto store = Store::open(dir, 256);
  EXPECT_TRUE(store) << store.error().message;
  return store ? std::move(*store) : nullptr;
}

/// Commits a reference run as the customer actor does: every input logged,
/// the whole state every `every` inputs; several inputs per group commit.
/// Stops after `commits` commits and returns the index of the last input
/// committed. `generation_of(i)` is the catalog generation input i ran on.
size_t commit_run(Store& store, const Reference& ref, size_t every, size_t commits,
                  const std::function<uint64_t(size_t)>& generation_of) {
  size_t since = 0, done = 0, i = 0;
  std::mt19937 rng(5);
  while (i < ref.inputs.size() && done < commits) {
    Batch b;
    for (size_t n = 1 + rng() % 6; n > 0 && i < ref.inputs.size(); --n, ++i) {
      CustomerWrite w;
      w.customer = "u-replay";
      if (++since >= every) {
        w.state_json = ref.states[i];
        since = 0;
      } else {
        w.log_input = encode(ref.inputs[i], generation_of(i));
      }
      b.customers.push_back(std::move(w));
    }
    EXPECT_TRUE(store.commit(b));
    ++done;
  }
  return i - 1;
}

TEST(InputLog, AfterACrashAtAnyCommitRecoveryStoresTheStateOfTheLastAcknowledgedInput) {
  const Catalog cat = make_catalog();
  const Config config = config_for(cat);
  auto current = std::make_shared<const Catalog>(cat);
  const Reference ref = record(cat, 20261202, 300);
  for (size_t commits : {1, 2, 3, 5, 8, 13, 21, 34, 55, 89}) {
    it::TempDir dir("waymark-inputlog-");
    size_t last = 0;
    {
      auto store = open_store(dir.path());
      ASSERT_TRUE(store);
      last = commit_run(*store, ref, 5, commits, [](size_t) { return 0; });
    }  // the process dies: nothing but LMDB survives
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    auto rec = recover_log(*store, config, current);
    ASSERT_TRUE(rec) << rec.error().message;
    EXPECT_EQ(rec->skipped, 0u);
    auto stored = store->get_customer("u-replay");
    ASSERT_TRUE(stored) << "after " << commits << " commits";
    ASSERT_EQ(*stored, ref.states[last]) << "after " << commits << " commits (input " << last << ")";
    EXPECT_TRUE(store->unsnapshotted().empty());
    // Recovering again changes nothing (a crash during recovery is harmless).
    auto again = recover_log(*store, config, current);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->inputs, 0u);
  }
}

TEST(InputLog, InputsReplayAgainstTheCatalogGenerationTheyRanOn) {
  // Generation 1 lacks the feature-adoption journey; it is deployed (gen 2)
  // half way through, as a crash would find it: replay must not let the early
  // "Feature Used" events enter it.
  const Catalog full = make_catalog();
  Catalog early_cat = full;
  early_cat.journeys.erase("feature-adoption");
  auto early = with_generation(early_cat, 1);
  auto late = with_generation(full, 2);
  const Config config = config_for(full);

  Reference ref;
  {
    // The reference: inputs of the full run, applied under the catalog of their half.
    const Reference inputs = record(full, 11, 200);
    CustomerState s;
    s.id = "u-replay";
    for (size_t i = 0; i < inputs.inputs.size(); ++i) {
      apply(s, i < 100 ? *early : *late, inputs.inputs[i]);
      ref.inputs.push_back(inputs.inputs[i]);
      ref.states.push_back(serialize_state(s));
    }
  }
  it::TempDir dir("waymark-inputlog-");
  size_t last = 0;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    Batch gens;
    add_generation(gens, *early);
    add_generation(gens, *late);
    ASSERT_TRUE(store->commit(gens));
    last = commit_run(*store, ref, 1000, 1000, [](size_t i) { return i < 100 ? 1 : 2; });
  }
  ASSERT_EQ(last, ref.inputs.size() - 1);
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto rec = recover_log(*store, config, late);
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->inputs, ref.inputs.size());
  EXPECT_EQ(*store->get_customer("u-replay"), ref.states.back());

  // The control: the same inputs all replayed under the late catalog differ,
  // so the test above can tell the generations apart.
  CustomerState s;
  s.id = "u-replay";
  for (auto& in : ref.inputs)
    apply(s, *late, in);
  EXPECT_NE(serialize_state(s), ref.states.back());
}

TEST(InputLog, SnapshotsCoverTheLogWhichIsTrimmedErasedAndCounted) {
  it::TempDir dir("waymark-inputlog-");
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  Event e;
  e.user_id = "a";
  e.name = "Page Viewed";
  auto log = [&](const std::string& c, int n) {
    Batch b;
    for (int i = 0; i < n; ++i) {
      CustomerWrite w;
      w.customer = c;
      w.log_input = encode_event_input(e, 1000 + i, 0);
      b.customers.push_back(std::move(w));
    }
    return static_cast<bool>(store->commit(b));
  };
  auto snapshot = [&](const std::string& c) {
    Batch b;
    CustomerWrite w;
    w.customer = c;
    w.state_json = R"({"id":")" + c + R"("})";
    w.dedup_ids = {{"m1", 5}, {"m2", 6}};
    b.customers.push_back(std::move(w));
    return static_cast<bool>(store->commit(b));
  };
  ASSERT_TRUE(log("a", 3));
  ASSERT_TRUE(log("b", 2));
  EXPECT_EQ(store->log_records(), 5u);
  EXPECT_EQ(store->customer_count(), 2u) << "customers known only from the log count";
  EXPECT_TRUE(store->dirty("a"));
  EXPECT_EQ(store->unsnapshotted().size(), 5u);
  std::string only = "b";
  EXPECT_EQ(store->unsnapshotted(&only).size(), 2u);
  EXPECT_EQ(store->oldest_dirty(0, 10), (std::vector<std::string>{"a", "b"}));

  ASSERT_TRUE(snapshot("a"));
  EXPECT_FALSE(store->dirty("a"));
  EXPECT_EQ(store->customer_count(), 2u);
  EXPECT_EQ(store->unsnapshotted().size(), 2u) << "a's records are covered by its snapshot";
  EXPECT_EQ(store->dedup_at("a", "m2"), std::optional<Millis>(6)) << "dedup keys go with the snapshot";
  ASSERT_TRUE(snapshot("b"));
  ASSERT_TRUE(log("c", 1));  // the next commit trims behind the oldest uncovered input
  EXPECT_EQ(store->log_records(), 1u);
  EXPECT_EQ(store->customer_count(), 3u);

  auto erased = store->erase_customer("c");
  ASSERT_TRUE(erased) << erased.error().message;
  EXPECT_EQ(store->log_records(), 0u) << "erasure removes the customer's logged events";
  EXPECT_FALSE(store->dirty("c"));
  EXPECT_EQ(store->customer_count(), 2u);
  EXPECT_TRUE(store->unsnapshotted().empty());
}

TEST(InputLog, AMergedAwayCustomerIsNotReplayedBackIntoExistence) {
  it::TempDir dir("waymark-inputlog-");
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    Event e;
    e.anonymous_id = "anon";
    e.name = "Page Viewed";
    Batch b;
    CustomerWrite w;
    w.customer = "anon";
    w.log_input = encode_event_input(e, 1000, 0);
    b.customers.push_back(w);
    CustomerWrite merge;  // the merge's snapshot of the target erases the source
    merge.customer = "user";
    merge.state_json = R"({"id":"user"})";
    merge.erase_customers = {"anon"};
    merge.aliases_from = {"anon"};
    b.customers.push_back(merge);
    ASSERT_TRUE(store->commit(b));
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->unsnapshotted().empty());
  auto rec = recover_log(*store, Config{}, std::make_shared<const Catalog>());
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->customers, 0u);
  EXPECT_FALSE(store->get_customer("anon"));
}

TEST(InputLog, NothingIsTrimmedBeforeRecoveryHasCoveredWhatTheLastRunLogged) {
  // The dirty map is memory: after a restart a commit must not take the log
  // for covered (recovery commits in slices; a crash between them would lose
  // the inputs of the customers not yet replayed).
  const Catalog cat = make_catalog();
  const Reference ref = record(cat, 3, 40);
  it::TempDir dir("waymark-inputlog-");
  size_t last = 0;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    last = commit_run(*store, ref, 1000, 1000, [](size_t) { return 0; });
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  const auto logged = store->log_records();
  ASSERT_EQ(logged, ref.inputs.size());
  Batch other;
  other.meta.emplace_back("x", "y");
  ASSERT_TRUE(store->commit(other));
  ASSERT_TRUE(store->commit(other));
  EXPECT_EQ(store->log_records(), logged);
  auto rec = recover_log(*store, config_for(cat), std::make_shared<const Catalog>(cat));
  ASSERT_TRUE(rec);
  EXPECT_EQ(*store->get_customer("u-replay"), ref.states[last]);
  EXPECT_EQ(store->log_records(), 0u) << "once covered, the log is trimmed";
}

TEST(InputLog, AStoppedCustomerIsRecoveredAloneWhileOthersStayLogged) {
  // What the store actor does at the barrier of an actor that stopped without
  // storing its state (a crash): replay that customer's inputs only.
  const Catalog cat = make_catalog();
  const Reference ref = record(cat, 21, 30);
  it::TempDir dir("waymark-inputlog-");
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  for (const char* id : {"u-replay", "other"}) {
    Batch b;
    for (size_t i = 0; i < ref.inputs.size(); ++i) {
      CustomerWrite w;
      w.customer = id;
      w.log_input = encode(ref.inputs[i]);
      b.customers.push_back(std::move(w));
    }
    ASSERT_TRUE(store->commit(b));
  }
  std::string only = "u-replay";
  auto rec = recover_log(*store, config_for(cat), std::make_shared<const Catalog>(cat), &only);
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->inputs, ref.inputs.size());
  EXPECT_EQ(*store->get_customer("u-replay"), ref.states.back());
  EXPECT_FALSE(store->dirty("u-replay"));
  EXPECT_TRUE(store->dirty("other"));
  EXPECT_FALSE(store->get_customer("other"));
  EXPECT_EQ(store->unsnapshotted().size(), ref.inputs.size()) << "the other customer's inputs stay logged";
}

TEST(InputLog, CatalogGenerationsBeforeTheCurrentOneCanBePruned) {
  it::TempDir dir("waymark-inputlog-");
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  Batch b;
  for (uint64_t g : {0, 1, 2, 10})
    add_generation(b, *with_generation(make_catalog(), g));
  b.meta.emplace_back("clock", "5");
  ASSERT_TRUE(store->commit(b));
  auto n = store->erase_meta_range(catalog_blob_key(0), catalog_blob_key(10));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 3u);
  EXPECT_FALSE(store->meta(catalog_blob_key(2)));
  EXPECT_TRUE(store->meta(catalog_blob_key(10)));
  EXPECT_EQ(store->meta("catalog_gen"), std::optional<std::string>("10"));
  EXPECT_EQ(store->meta("clock"), std::optional<std::string>("5"));
}

}  // namespace
}  // namespace waymark
