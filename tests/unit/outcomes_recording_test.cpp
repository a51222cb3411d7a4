// Recording outcomes (PRODUCT.md §10): the engine's touches, conversions,
// experiment counters and holdouts; their LMDB layout (a partition's time
// range, a customer's records, counters per partition, erasure); the config
// keys and the journey's holdout validation.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <string>

#include "waymark/cluster.hpp"
#include "waymark/config.hpp"
#include "waymark/engine.hpp"
#include "waymark/outcomes/holdout.hpp"
#include "waymark/outcomes/records.hpp"
#include "waymark/store.hpp"

namespace waymark {
namespace {

namespace json = boost::json;

Millis at(const char* rfc3339) { return parse_rfc3339(rfc3339).value(); }

struct Recording : ::testing::Test {
  Catalog cat;
  CustomerState s;
  Millis now = at("2026-11-02T12:00:00Z");

  Recording() {
    cat.channels["email"] = ChannelPolicy{"email", "", true, std::nullopt, std::nullopt};
    std::vector<ValidationError> errors;
    TemplatePtr t = parse_template(json::parse(R"({"id":"hi","channel":"email","subject":"s","body":"b"})"), errors);
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

  Event track(const std::string& name, const char* props = "{}", const std::string& user = "u1") {
    Event e;
    e.type = EventType::track;
    e.user_id = user;
    e.name = name;
    e.timestamp = now;
    e.properties = json::parse(props).as_object();
    return e;
  }

  Decision on(const Event& e) { return on_event(s, cat, e, now); }

  bool traced(const std::string& what) const {
    for (const auto& t : s.trace)
      if (t.what == what)
        return true;
    return false;
  }
};

/// Sum of an arm's counter over a decision.
double arm(const Decision& d, const std::string& name, const char* counter) {
  double n = 0;
  for (const auto& a : d.arms)
    if (a.arm == name)
      n += std::string(counter) == "entered" ? a.entered : std::string(counter) == "converted" ? a.converted : a.value;
  return n;
}

/// The first customer id "c<n>" that is (or is not) held out of `journey` at `percent`.
std::string customer_held(bool held, const std::string& journey, double percent) {
  for (int n = 0;; ++n) {
    std::string id = "c" + std::to_string(n);
    if (outcomes::held_out(id, journey, percent) == held)
      return id;
  }
}

const char* kSplit = R"({"id":"promo","entry":{"event":"Signed Up"},
  "goal":{"event":"Upgraded","value":"properties.amount"},"start":"pick","steps":{
  "pick":{"type":"split","variants":[{"name":"a","weight":1,"next":"mail"},{"name":"b","weight":1,"next":"mail"}]},
  "mail":{"type":"send","channel":"email","template":"hi","next":"wait"},
  "wait":{"type":"wait","duration":"7d","next":"end"},
  "end":{"type":"exit"}}})";

TEST_F(Recording, ASendIsATouchWithTheVariantTheInstanceTook) {
  deploy(kSplit);
  Decision d = on(track("Signed Up"));
  ASSERT_EQ(d.deliveries.size(), 1u);
  ASSERT_EQ(d.touches.size(), 1u);
  const outcomes::Touch& t = d.touches[0];
  EXPECT_EQ(t.delivery_id, d.deliveries[0].id);
  EXPECT_EQ(t.customer, "u1");
  EXPECT_EQ(t.channel, "email");
  EXPECT_EQ(t.journey, "promo");
  EXPECT_EQ(t.version, 1);
  EXPECT_EQ(t.step, "mail");
  EXPECT_EQ(t.template_id, "hi");
  EXPECT_EQ(t.at, now);
  const std::string variant = s.instances.at(0).variants.at(0).second;
  EXPECT_TRUE(variant == "a" || variant == "b");
  EXPECT_EQ(serialize_state(s), json::serialize(to_json(s)));
  EXPECT_EQ(customer_from_json(json::parse(serialize_state(s)))->instances.at(0).variants, s.instances[0].variants);
  EXPECT_EQ(t.variant, "pick:" + variant);
  // entered: the treated arm and the variant's arm, once each
  EXPECT_EQ(arm(d, "treated", "entered"), 1);
  EXPECT_EQ(arm(d, "pick:" + variant, "entered"), 1);
  EXPECT_EQ(d.arms.size(), 2u);
}

TEST_F(Recording, AGoalConvertsEveryArmOfTheInstanceWithTheGoalValue) {
  deploy(kSplit);
  on(track("Signed Up"));
  const std::string variant = s.instances.at(0).variants.at(0).second;
  now += 3600 * 1000;
  Decision d = on(track("Upgraded", R"({"amount":12.5})"));
  EXPECT_EQ(arm(d, "treated", "converted"), 1);
  EXPECT_EQ(arm(d, "treated", "value"), 12.5);
  EXPECT_EQ(arm(d, "pick:" + variant, "converted"), 1);
  EXPECT_EQ(arm(d, "pick:" + variant, "value"), 12.5);
  EXPECT_EQ(arm(d, "treated", "entered"), 0);
  // The goal event is a conversion (not a conversion event by name): worth the goal's value.
  ASSERT_EQ(d.conversions.size(), 1u);
  EXPECT_EQ(d.conversions[0].event, "Upgraded");
  EXPECT_EQ(d.conversions[0].value, 12.5);
  EXPECT_EQ(d.conversions[0].at, now);
  EXPECT_EQ(d.conversions[0].customer, "u1");
}

TEST_F(Recording, ConversionEventsCountOnceWithTheConfiguredValue) {
  deploy(R"({"id":"buy","entry":{"event":"Signed Up"},"goal":{"event":"Order Completed","value":"properties.total"},
    "start":"w","steps":{"w":{"type":"wait","duration":"1d","next":"end"},"end":{"type":"exit"}}})");
  on(track("Signed Up"));
  Event order = track("Order Completed", R"({"revenue":40,"total":99})");
  order.timestamp = now - 5000;  // the conversion's time is the event's
  Decision d = on(order);
  ASSERT_EQ(d.conversions.size(), 1u);  // goal and conversion event: one conversion
  EXPECT_EQ(d.conversions[0].value, 40);  // attribution.value_path, not the goal's value
  EXPECT_EQ(d.conversions[0].at, now - 5000);
  EXPECT_EQ(arm(d, "treated", "value"), 99);  // results use the goal's value
  // Without the value: 0. Other events and identify: no conversion.
  d = on(track("Order Completed", R"({"total":5})"));
  ASSERT_EQ(d.conversions.size(), 1u);
  EXPECT_EQ(d.conversions[0].value, 0);
  EXPECT_TRUE(on(track("Page Viewed", R"({"revenue":3})")).conversions.empty());
  Event id;
  id.type = EventType::identify;
  id.user_id = "u1";
  id.timestamp = now;
  EXPECT_TRUE(on(id).conversions.empty());
  // Configured names and path.
  cat.conversion_events = {"Paid"};
  cat.conversion_value_path = "properties.cents";
  EXPECT_TRUE(on(track("Order Completed", R"({"revenue":3})")).conversions.empty());
  d = on(track("Paid", R"({"cents":250})"));
  ASSERT_EQ(d.conversions.size(), 1u);
  EXPECT_EQ(d.conversions[0].value, 250);
}

const char* kHeld = R"({"id":"held","entry":{"event":"Signed Up"},"holdout":{"percent":50},
  "goal":{"event":"Upgraded","within":"2d","value":"properties.amount"},"start":"mail","steps":{
  "mail":{"type":"send","channel":"email","template":"hi","next":"end"},"end":{"type":"exit"}}})";

TEST_F(Recording, AHeldOutEntrantGetsNoMessageAndItsGoalIsCounted) {
  deploy(kHeld);
  const std::string id = customer_held(true, "held", 50);
  Decision d = on(track("Signed Up", "{}", id));
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_TRUE(d.touches.empty());
  EXPECT_TRUE(traced("holdout"));
  EXPECT_EQ(arm(d, "holdout", "entered"), 1);
  EXPECT_EQ(arm(d, "treated", "entered"), 0);
  ASSERT_EQ(s.instances.size(), 1u);
  EXPECT_TRUE(s.instances[0].holdout);
  EXPECT_EQ(s.instances[0].step, "");
  ASSERT_EQ(d.timers_set.size(), 1u);  // the goal's window
  EXPECT_EQ(d.timers_set[0].due, now + 2 * 86400 * 1000);
  // the held-out instance survives a store round trip; both writers agree
  EXPECT_EQ(serialize_state(s), json::serialize(to_json(s)));
  auto back = customer_from_json(json::parse(serialize_state(s)));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->instances.at(0).holdout);
  now += 86400 * 1000;
  d = on(track("Upgraded", R"({"amount":7})", id));
  EXPECT_EQ(arm(d, "holdout", "converted"), 1);
  EXPECT_EQ(arm(d, "holdout", "value"), 7);
  EXPECT_TRUE(s.instances.empty());
}

TEST_F(Recording, AHeldOutInstanceLeavesWhenTheGoalWindowEnds) {
  deploy(kHeld);
  const std::string id = customer_held(true, "held", 50);
  Decision d = on(track("Signed Up", "{}", id));
  const std::string timer = d.timers_set.at(0).id;
  now += 2 * 86400 * 1000;
  d = on_timer(s, cat, timer, now);
  EXPECT_TRUE(s.instances.empty());
  EXPECT_TRUE(traced("exited: holdout"));
  EXPECT_TRUE(d.arms.empty());
}

TEST_F(Recording, AHeldOutEntrantOfAJourneyWithoutGoalOrTimeoutLeavesAtOnce) {
  deploy(R"({"id":"plain","entry":{"event":"Signed Up"},"holdout":{"percent":50},"start":"mail","steps":{
    "mail":{"type":"send","channel":"email","template":"hi","next":"end"},"end":{"type":"exit"}}})");
  const std::string id = customer_held(true, "plain", 50);
  Decision d = on(track("Signed Up", "{}", id));
  EXPECT_TRUE(d.deliveries.empty());
  EXPECT_TRUE(s.instances.empty());
  EXPECT_EQ(arm(d, "holdout", "entered"), 1);
}

TEST_F(Recording, ATreatedEntrantOfAHoldoutJourneyRunsItsSteps) {
  deploy(kHeld);
  const std::string id = customer_held(false, "held", 50);
  Decision d = on(track("Signed Up", "{}", id));
  EXPECT_EQ(d.deliveries.size(), 1u);
  EXPECT_EQ(arm(d, "treated", "entered"), 1);
  EXPECT_FALSE(traced("holdout"));
}

TEST(HoldoutValidation, PercentIsANumberFrom0To50) {
  auto errors_of = [](const std::string& holdout) {
    std::vector<ValidationError> errors;
    ValidationContext ctx;
    ctx.channels = {"email"};
    const std::string text = R"({"id":"j","entry":{"event":"E"},)" + holdout +
                             R"("start":"w","steps":{"w":{"type":"wait","duration":"1d","next":"end"},"end":{"type":"exit"}}})";
    parse_journey(json::parse(text), ctx, errors);
    return errors;
  };
  EXPECT_TRUE(errors_of(R"("holdout":{"percent":0},)").empty());
  EXPECT_TRUE(errors_of(R"("holdout":{"percent":50},)").empty());
  EXPECT_TRUE(errors_of(R"("holdout":{"percent":12.5},)").empty());
  for (const char* bad : {R"("holdout":{"percent":50.01},)", R"("holdout":{"percent":-1},)",
                          R"("holdout":{"percent":"10"},)", R"("holdout":{},)"}) {
    auto errors = errors_of(bad);
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0].path, "holdout.percent") << bad;
  }
  EXPECT_EQ(errors_of(R"("holdout":{"percent":10,"x":1},)").at(0).path, "holdout.x");
}

// ---- the store --------------------------------------------------------------------------

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/waymark-outcomes-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

outcomes::Touch touch(const std::string& customer, const std::string& id, Millis when) {
  return outcomes::Touch{id, customer, "email", "j", 1, "s", "t", "", when};
}

CustomerWrite outcome_write(const std::string& customer, Millis base) {
  CustomerWrite w;
  w.customer = customer;
  w.log_input = "x";
  w.touches = {touch(customer, "d1-" + customer, base), touch(customer, "d2-" + customer, base + 10)};
  w.conversions = {outcomes::Conversion{customer, "Order Completed", 2.5, base + 20}};
  w.arms = {ArmDelta{"j", 1, "treated", 1, 1, 2.5}, ArmDelta{"j", 1, "pick:a", 1, 0, 0}};
  return w;
}

std::vector<std::string> all_pages(const Store& st, Store::OutcomeKind kind, Millis from, Millis to, size_t max) {
  std::vector<std::string> out;
  std::string after;
  do {
    OutcomePage p = st.outcome_page(kind, from, to, after, max);
    out.insert(out.end(), p.records.begin(), p.records.end());
    after = p.next;
  } while (!after.empty());
  return out;
}

TEST(OutcomeStore, RecordsCommitWithTheWriteAndAreReadByRangeCustomerAndPartition) {
  TempDir dir;
  auto opened = Store::open(dir.path, 64);
  ASSERT_TRUE(opened);
  Store& st = **opened;
  // Two customers in different partitions (of 4), and one at a negative time.
  std::string a = "a", b = "b";
  for (int n = 0; cluster::partition_of(b, 4) == cluster::partition_of(a, 4); ++n)
    b = "b" + std::to_string(n);
  Batch batch;
  batch.customers = {outcome_write(a, 1000), outcome_write(b, 1005), outcome_write("neg", -50000)};
  ASSERT_TRUE(st.commit(batch));
  // touches at a:1000,1010 b:1005,1015 neg:-50000,-49990; [1000, 1011) holds three
  auto in_range = all_pages(st, Store::OutcomeKind::touch, 1000, 1011, 100);
  ASSERT_EQ(in_range.size(), 3u);
  // pages of one record each give the same records
  EXPECT_EQ(all_pages(st, Store::OutcomeKind::touch, 1000, 1011, 1), in_range);
  EXPECT_EQ(all_pages(st, Store::OutcomeKind::touch, -60000, 0, 1).size(), 2u);
  EXPECT_EQ(all_pages(st, Store::OutcomeKind::touch, -60000, 5000, 2).size(), 6u);
  auto conv = all_pages(st, Store::OutcomeKind::conversion, 1020, 1021, 10);
  ASSERT_EQ(conv.size(), 1u);
  auto c = outcomes::conversion_from_json(conv[0]);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->customer, a);
  EXPECT_EQ(c->value, 2.5);
  EXPECT_EQ(c->at, 1020);
  // one customer's touches in [1005, 2000): only the second of a
  auto mine = st.customer_outcomes(a, Store::OutcomeKind::touch, 1005, 2000, 100);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(outcomes::touch_from_json(mine[0])->delivery_id, "d2-" + a);
  ASSERT_TRUE(st.index_outcomes());  // outcome_customers reads the index
  EXPECT_EQ(st.outcome_customers("", 10), (std::vector<std::string>{a, b, "neg"}));
  EXPECT_EQ(st.outcome_customers(a, 1), (std::vector<std::string>{b}));
  // counters: one per (version, arm, counter), summed over the writes
  int64_t entered = 0, value = 0;
  for (auto& rc : st.result_counters("j")) {
    if (rc.arm == "treated" && rc.counter == "entered")
      entered += rc.n;
    if (rc.arm == "treated" && rc.counter == "value_micros")
      value += rc.n;
  }
  EXPECT_EQ(entered, 3);
  EXPECT_EQ(value, 7500000);  // 3 x 2.5 in millionths
  EXPECT_TRUE(st.result_counters("jj").empty());
  // erasure removes one customer's records and keeps the others'
  ASSERT_TRUE(st.erase_customer(a));
  EXPECT_EQ(all_pages(st, Store::OutcomeKind::touch, -60000, 5000, 10).size(), 4u);
  EXPECT_EQ(all_pages(st, Store::OutcomeKind::conversion, -60000, 5000, 10).size(), 2u);
  EXPECT_TRUE(st.customer_outcomes(a, Store::OutcomeKind::conversion, -60000, 5000, 10).empty());
  EXPECT_EQ(st.outcome_customers("", 10), (std::vector<std::string>{b, "neg"}));
}

size_t index_records(const HandoffChunk& chunk, const std::string& customer) {
  size_t n = 0;
  for (auto& r : chunk.records)
    n += r.db == HandoffRecord::outcome_index && r.key.compare(0, customer.size() + 1, customer + '\0') == 0;
  return n;
}

// A record's index entry waits in seq order and moves into the per-customer
// index in batches; every read path still finds it, and a bulk read after
// index_outcomes() sees exactly the records committed before it.
TEST(OutcomeStore, WaitingIndexEntriesAreFoundByEveryReadAndMovedInBatches) {
  TempDir dir;
  {
    auto opened = Store::open(dir.path, 64);
    ASSERT_TRUE(opened);
    Store& st = **opened;
    Batch first;
    first.customers = {outcome_write("a", 1000), outcome_write("b", 1000)};
    ASSERT_TRUE(st.commit(first));
    // Not yet in the index: a customer's live read finds them, a bulk listing does not.
    EXPECT_EQ(st.customer_outcomes("a", Store::OutcomeKind::touch, 0, 5000, 10).size(), 2u);
    EXPECT_TRUE(st.outcome_customers("", 10).empty());
    // A hand-off of a's partition carries its waiting index entries as index records.
    auto chunk = st.export_chunk([](std::string_view k) { return k == "a"; }, [](std::string_view) { return false; },
                                 "", 1000);
    ASSERT_TRUE(chunk);
    EXPECT_EQ(index_records(*chunk, "a"), 3u);
    EXPECT_EQ(index_records(*chunk, "b"), 0u);
    auto upto = st.index_outcomes();
    ASSERT_TRUE(upto);
    EXPECT_EQ(*upto, 6u);  // six records numbered 1..6
    Batch later;
    later.customers = {outcome_write("a", 3000)};
    ASSERT_TRUE(st.commit(later));
    // Up to the bulk read's seq: the first commit's records only; live: all.
    EXPECT_EQ(st.customer_outcomes("a", Store::OutcomeKind::touch, 0, 5000, 10, *upto).size(), 2u);
    EXPECT_EQ(st.customer_outcomes("a", Store::OutcomeKind::touch, 0, 5000, 10).size(), 4u);
    EXPECT_EQ(st.customer_outcomes("a", Store::OutcomeKind::touch, 0, 5000, 3).size(), 3u);  // oldest first
    EXPECT_EQ(all_pages(st, Store::OutcomeKind::touch, 0, 5000, 1).size(), 6u);
    OutcomePage page = st.outcome_page(Store::OutcomeKind::touch, 0, 5000, "", 10, *upto);
    EXPECT_EQ(page.records.size(), 4u);
    EXPECT_EQ(st.customer_outcomes("a", Store::OutcomeKind::conversion, 0, 5000, 10, *upto).size(), 1u);
    // Erasure takes the waiting entries' records too.
    ASSERT_TRUE(st.erase_customer("b"));
    EXPECT_TRUE(st.customer_outcomes("b", Store::OutcomeKind::touch, 0, 5000, 10).empty());
    EXPECT_EQ(all_pages(st, Store::OutcomeKind::touch, 0, 5000, 10).size(), 4u);
    // Past a few thousand waiting entries a commit moves them itself.
    Batch many;
    for (int i = 0; i < 3000; ++i)
      many.customers.push_back(outcome_write("m" + std::to_string(i), 4000));
    ASSERT_TRUE(st.commit(many));
    EXPECT_EQ(st.outcome_customers("", 100000).size(), 3001u);  // a and m0..m2999, without index_outcomes
    Batch last;
    last.customers = {outcome_write("z", 5000)};
    ASSERT_TRUE(st.commit(last));
  }
  // Opening moves what waits (z's records).
  auto st = Store::open(dir.path, 64);
  ASSERT_TRUE(st);
  EXPECT_EQ((*st)->outcome_customers("y", 10), (std::vector<std::string>{"z"}));
  EXPECT_EQ((*st)->customer_outcomes("z", Store::OutcomeKind::touch, 0, 9000, 10, 1u << 30).size(), 2u);
}

TEST(OutcomeRecords, JsonRoundTripsWithEscapes) {
  outcomes::Touch t{"d\"1", "c\\u\n", "email", "j", 3, "s", "t", "pick:b", 1234};
  auto back = outcomes::touch_from_json(outcomes::touch_json(t));
  ASSERT_TRUE(back) << outcomes::touch_json(t);
  EXPECT_EQ(back->delivery_id, t.delivery_id);
  EXPECT_EQ(back->customer, t.customer);
  EXPECT_EQ(back->version, 3);
  EXPECT_EQ(back->variant, "pick:b");
  EXPECT_EQ(back->at, 1234);
  EXPECT_EQ(outcomes::touch_json(t), json::serialize(json::parse(outcomes::touch_json(t))));
  auto c = outcomes::conversion_from_json(outcomes::conversion_json({"a\x01", "Order Completed", 12.25, -5}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->customer, "a\x01");
  EXPECT_EQ(c->value, 12.25);
  EXPECT_EQ(c->at, -5);
}

TEST(OutcomeStore, RecordsSurviveAReopenAndKeepTheirSequence) {
  TempDir dir;
  {
    auto st = Store::open(dir.path, 64);
    Batch batch;
    batch.customers = {outcome_write("a", 1000)};
    ASSERT_TRUE((*st)->commit(batch));
  }
  auto st = Store::open(dir.path, 64);
  Batch batch;
  batch.customers = {outcome_write("a", 1000)};  // same instants: new keys, nothing overwritten
  ASSERT_TRUE((*st)->commit(batch));
  EXPECT_EQ(all_pages(**st, Store::OutcomeKind::touch, 0, 5000, 10).size(), 4u);
}

TEST(OutcomeConfig, KeysAreReadAndBounded) {
  auto c = config_from_json(json::parse(
    R"({"attribution":{"conversion_events":["Paid","Renewed"],"value_path":"properties.cents"},"clv":{"horizon":"30d"}})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->conversion_events, (std::vector<std::string>{"Paid", "Renewed"}));
  EXPECT_EQ(c->conversion_value_path, "properties.cents");
  EXPECT_EQ(c->clv_horizon, 30LL * 86400 * 1000);
  auto d = config_from_json(json::parse("{}"));
  EXPECT_EQ(d->conversion_events, (std::vector<std::string>{"Order Completed"}));
  EXPECT_EQ(d->conversion_value_path, "properties.revenue");
  EXPECT_EQ(d->clv_horizon, 90LL * 86400 * 1000);
  for (const char* bad : {R"({"attribution":{"conversion_events":[]}})", R"({"attribution":{"conversion_events":["a","a"]}})",
                          R"({"attribution":{"conversion_events":[""]}})", R"({"attribution":{"value_path":"revenue"}})",
                          R"({"attribution":{"value_path":"properties."}})", R"({"attribution":{"x":1}})",
                          R"({"clv":{"horizon":"12h"}})", R"({"clv":{"horizon":"3654d"}})", R"({"clv":{"horizon":90}})"}) {
    auto r = config_from_json(json::parse(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().message.find("attribution") != std::string::npos ||
                r.error().message.find("clv") != std::string::npos)
      << r.error().message;
  }
}

}  // namespace
}  // namespace waymark
