// serialize_state (src/journey/customer_state.cpp): the store document written
// without a DOM must be exactly json::serialize(to_json(s)) — same bytes, so
// also the same DOM — and must read back with customer_from_json to the same
// state. States are built by hand (edge cases), by the engine (real shapes),
// and at random with a fixed seed.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "waymark/engine.hpp"

namespace waymark {
namespace {

namespace json = boost::json;

constexpr Millis kDay = 86400000;

// Deep enough for the nested traits below. Invalid UTF-8 is let through here only
// because both writers pass it through (tested for bytes); input parsing refuses it.
json::value parse_deep(const std::string& text) {
  json::parse_options opt;
  opt.max_depth = 1024;
  opt.allow_invalid_utf8 = true;
  return json::parse(text, {}, opt);
}

void expect_same_document(const CustomerState& s) {
  const std::string direct = serialize_state(s);
  const json::object dom = to_json(s);
  EXPECT_EQ(direct, json::serialize(dom));
  const json::value parsed = parse_deep(direct);
  EXPECT_EQ(parsed, json::value(dom));
  auto back = customer_from_json(parsed);
  ASSERT_TRUE(back) << back.error().message << "\n" << direct;
  EXPECT_EQ(json::value(to_json(back.value())), json::value(dom));
  EXPECT_EQ(serialize_state(back.value()), direct);

  std::string appended = "prefix";  // the buffer form appends
  serialize_state(s, appended);
  EXPECT_EQ(appended, "prefix" + direct);
}

// Every string field of the state set to `text`, every list non-empty.
CustomerState state_with_strings(const std::string& text) {
  CustomerState s;
  s.id = text;
  s.traits[text] = text;
  s.traits["nested"] = json::object{{text, json::array{text, 1, -2, 2.5, nullptr, true}}};
  s.merged_ids = {text, "anon-" + text};
  s.history.push_back(HistoryEntry{text, 1, json::object{{text, text}}});
  Instance i;
  i.id = "i" + text;  // customer_from_json refuses instances without id or journey
  i.journey = "j" + text;
  i.version = 3;
  i.key = text;
  i.step = text;
  i.entry = json::object{{"event", text}, {"properties", json::object{{text, 7}}}};
  i.timer_id = text;
  i.timeout_timer_id = text;
  s.instances.push_back(i);
  s.memo[text + "\x1f" + text] = EntryMemo{1, 2, true};
  s.entry_condition[text] = true;
  s.sends.emplace_back(text, 5);
  s.trace.push_back(TraceEntry{6, text, text, 1, text, text});
  s.deliveries.push_back(DeliveryRef{text, text, text, text, 7});
  return s;
}

TEST(StateWriter, EmptyState) {
  CustomerState s;
  expect_same_document(s);
  EXPECT_EQ(serialize_state(s),
            R"({"id":"","traits":{},"merged_ids":[],"history":[],"instances":[],"memo":{},"entry_condition":{},)"
            R"("sends":[],"trace":[],"deliveries":[],"next_seq":1,"created_at":0,"updated_at":0})");
}

TEST(StateWriter, EscapesLikeBoostJson) {
  std::string every_control;
  for (int c = 0; c < 0x20; ++c)
    every_control.push_back(static_cast<char>(c));
  for (const std::string& text :
       {std::string("plain"), std::string(""), std::string("quote \" and backslash \\ and slash /"),
        std::string("tab\tnewline\nreturn\rbackspace\bformfeed\f"), every_control, std::string("nul\0in", 6),
        std::string("unit\x1fseparator"), std::string("del \x7f"), std::string("\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80"),
        std::string("invalid utf-8 \xff\xfe passes through"), std::string("</script>"), std::string(300, '"')}) {
    SCOPED_TRACE(json::serialize(json::string(text)));
    expect_same_document(state_with_strings(text));
  }
}

// Every byte value at every position of a word-at-a-time scan, among plain ASCII and
// among high bytes (which must not be mistaken for ones that need an escape).
TEST(StateWriter, EveryByteAtEveryPosition) {
  for (const char filler : {'a', '\xe0', '\x80', '\x7f'})
    for (int c = 0; c < 256; ++c)
      for (size_t at = 0; at < 19; ++at) {
        CustomerState s;
        s.id = std::string(19, filler);
        s.id[at] = static_cast<char>(c);
        ASSERT_EQ(serialize_state(s), json::serialize(to_json(s))) << "byte " << c << " at " << at;
      }
}

TEST(StateWriter, NumbersAtTheirLimits) {
  CustomerState s = state_with_strings("n");
  s.next_seq = std::numeric_limits<uint64_t>::max();
  s.created_at = std::numeric_limits<Millis>::min();
  s.updated_at = std::numeric_limits<Millis>::max();
  s.history.front().at = -1;
  Instance& i = s.instances.front();
  i.version = std::numeric_limits<int>::min();
  i.visits = std::numeric_limits<uint32_t>::max();
  i.entered_at = -kDay;
  i.step_since = std::numeric_limits<Millis>::min();
  i.timer_due = std::numeric_limits<Millis>::max();
  i.timeout_due = 0;
  s.memo.begin()->second = EntryMemo{std::numeric_limits<Millis>::min(), -1, false};
  s.sends.emplace_back("sms", -5);
  s.trace.front().version = std::numeric_limits<int>::max();
  s.deliveries.front().at = std::numeric_limits<Millis>::min();
  s.traits["big"] = std::numeric_limits<uint64_t>::max();
  s.traits["small"] = std::numeric_limits<int64_t>::min();
  s.traits["double"] = -0.125;
  s.traits["exp"] = 1e300;
  expect_same_document(s);
  EXPECT_NE(serialize_state(s).find("\"next_seq\":18446744073709551615,"), std::string::npos);
}

TEST(StateWriter, KeysNullAndSetMemoSeparatorAndNesting) {
  CustomerState s;
  s.id = "u1";
  json::value deep = "leaf";
  for (int d = 0; d < 40; ++d)  // deeper than Boost.JSON's default parse depth of 32
    deep = json::object{{"d" + std::to_string(d), deep}, {"arr", json::array{deep.is_object() ? 1 : 0}}};
  s.traits["deep"] = deep;
  for (int n = 0; n < 3; ++n) {
    Instance i;
    i.id = "j@1#" + std::to_string(n);
    i.journey = "j";
    i.version = 1;
    if (n != 1)
      i.key = n == 0 ? "" : "cart-9";
    s.instances.push_back(i);
    s.memo["j\x1f" + (i.key ? *i.key : std::string())] = EntryMemo{n * kDay, 0, n != 1};
  }
  s.entry_condition["a"] = false;
  s.entry_condition["b"] = true;
  expect_same_document(s);
  const std::string text = serialize_state(s);
  EXPECT_NE(text.find(R"("key":null)"), std::string::npos);
  EXPECT_NE(text.find(R"("j\u001fcart-9":{"entered":)"), std::string::npos);
}

TEST(StateWriter, ManyEntriesInEveryList) {
  CustomerState s;
  s.id = "many";
  for (int n = 0; n < 300; ++n) {
    const std::string t = std::to_string(n);
    s.merged_ids.push_back("anon" + t);
    s.history.push_back(HistoryEntry{"E" + t, n * 1000, json::object{{"n", n}, {"s", t}}});
    s.sends.emplace_back(n % 2 ? "email" : "sms", n);
    s.trace.push_back(TraceEntry{n, "event E" + t, "j", 1, "s" + t, "what \"" + t + "\""});
    s.deliveries.push_back(DeliveryRef{"d" + t, "email", "j", "s", n});
    s.memo["j" + t + "\x1f"] = EntryMemo{n, n + 1, n % 3 == 0};
    s.entry_condition["j" + t] = n % 2 == 0;
  }
  expect_same_document(s);
}

// States as the engine leaves them: identify, keyed entries, sends, waits, exits.
TEST(StateWriter, StatesBuiltByTheEngine) {
  Catalog cat;
  cat.channels["email"] = ChannelPolicy{"email", "email", true, std::nullopt, std::nullopt};
  cat.channels["inbox"] = ChannelPolicy{"inbox", "", false, std::nullopt, std::nullopt};
  std::vector<ValidationError> errors;
  TemplatePtr t = parse_template(json::parse(R"({"id":"hi","channel":"email","subject":"Hi {{traits.name|you}}",
                                                  "body":"Cart {{entry.properties.cart_id|none}}"})"),
                                 errors);
  ASSERT_TRUE(t);
  cat.templates[t->id] = t;
  t = parse_template(json::parse(R"({"id":"note","channel":"inbox","title":"Note"})"), errors);
  ASSERT_TRUE(t);
  cat.templates[t->id] = t;
  ValidationContext vctx;
  vctx.channels = {"email", "inbox"};
  for (const char* text : {
           R"({"id":"cart","entry":{"event":"Cart Updated"},"key":"properties.cart_id","start":"w","steps":{
                "w":{"type":"wait","duration":"1h","next":"hi"},
                "hi":{"type":"send","channel":"email","template":"hi","next":"done"},"done":{"type":"exit"}}})",
           R"({"id":"vip","entry":{"when":{"path":"traits.plan","op":"eq","value":"pro"}},"start":"n",
                "steps":{"n":{"type":"send","channel":"inbox","template":"note","next":"done"},
                "done":{"type":"exit"}}})",
           R"({"id":"drip","entry":{"event":"Signed Up"},"start":"hi","steps":{
                "hi":{"type":"send","channel":"email","template":"hi","next":"w"},
                "w":{"type":"wait","duration":"2d","next":"done"},"done":{"type":"exit"}}})"}) {
    JourneyPtr j = parse_journey(json::parse(text), vctx, errors);
    ASSERT_TRUE(j) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
    auto copy = std::make_shared<Journey>(*j);
    copy->version = 1;
    cat.journeys[copy->id].versions.push_back(copy);
  }
  Millis now = 1795000000000;
  CustomerState s;
  s.id = "u\"1\"";
  expect_same_document(s);
  auto event = [&](EventType type, const std::string& name, const char* body) {
    Event e;
    e.type = type;
    e.user_id = s.id;
    e.name = name;
    e.timestamp = now;
    (type == EventType::identify ? e.traits : e.properties) = json::parse(body).as_object();
    return e;
  };
  on_event(s, cat, event(EventType::identify, "", R"({"email":"a@b.c","name":"Zoë \"Z\"","plan":"free"})"), now);
  expect_same_document(s);
  on_event(s, cat, event(EventType::track, "Signed Up", "{}"), now);
  on_event(s, cat, event(EventType::track, "Cart Updated", R"({"cart_id":"A\n1","total":12.5})"), now);
  on_event(s, cat, event(EventType::track, "Cart Updated", R"({"total":3})"), now);  // no key: not entered
  expect_same_document(s);
  on_event(s, cat, event(EventType::identify, "", R"({"plan":"pro"})"), now);
  now += 2 * 3600 * 1000;
  for (const auto& i : std::vector<Instance>(s.instances))
    if (!i.timer_id.empty())
      on_timer(s, cat, i.timer_id, now);
  expect_same_document(s);
  for (int n = 0; n < 250; ++n)  // past the history, trace and deliveries bounds
    on_event(s, cat, event(EventType::track, "Cart Updated", n % 2 ? R"({"cart_id":"B"})" : R"({"x":[1,{}]})"),
             now += 1000);
  expect_same_document(s);
  CustomerState anon;
  anon.id = "anon-7";
  on_event(anon, cat, event(EventType::track, "Signed Up", "{}"), now);
  merge_customer(s, std::move(anon), cat, now);
  expect_same_document(s);
}

// Random states (fixed seed): strings drawn from an alphabet heavy in escapes and
// multi-byte UTF-8, random list lengths including zero, random nested traits.
class RandomStates {
public:
  explicit RandomStates(uint32_t seed) : rng_(seed) {}

  CustomerState next() {
    CustomerState s;
    s.id = text();
    s.traits = object(3);
    for (int n = count(3); n > 0; --n)
      s.merged_ids.push_back(text());
    for (int n = count(8); n > 0; --n)
      s.history.push_back(HistoryEntry{text(), millis(), chance(3) ? json::object{} : object(2)});
    for (int n = count(4); n > 0; --n) {
      Instance i;
      i.id = "i" + text();  // customer_from_json refuses instances without id or journey
      i.journey = "j" + text();
      i.version = static_cast<int>(rng_());
      if (chance(2))
        i.key = text();
      i.step = text();
      i.entered_at = millis();
      i.step_since = millis();
      i.entry = chance(3) ? json::object{} : object(2);
      i.timer_id = text();
      i.timer_due = millis();
      i.timeout_timer_id = text();
      i.timeout_due = millis();
      i.visits = static_cast<uint32_t>(rng_());
      s.instances.push_back(std::move(i));
    }
    for (int n = count(4); n > 0; --n)
      s.memo[text() + "\x1f" + text()] = EntryMemo{millis(), millis(), chance(2)};
    for (int n = count(3); n > 0; --n)
      s.entry_condition[text()] = chance(2);
    for (int n = count(5); n > 0; --n)
      s.sends.emplace_back(text(), millis());
    for (int n = count(6); n > 0; --n)
      s.trace.push_back(TraceEntry{millis(), text(), text(), static_cast<int>(rng_()), text(), text()});
    for (int n = count(5); n > 0; --n)
      s.deliveries.push_back(DeliveryRef{text(), text(), text(), text(), millis()});
    s.next_seq = (uint64_t(rng_()) << 32) | rng_();
    s.created_at = millis();
    s.updated_at = millis();
    return s;
  }

private:
  int count(int max) { return static_cast<int>(rng_() % (max + 1)); }
  bool chance(int one_in) { return rng_() % one_in == 0; }
  Millis millis() {
    switch (rng_() % 4) {
      case 0: return 0;
      case 1: return -static_cast<Millis>(rng_());
      case 2: return static_cast<Millis>((uint64_t(rng_()) << 32) | rng_());  // any sign
      default: return 1795000000000 + rng_();
    }
  }

  std::string text() {
    static const std::string pieces[] = {"a", "Z", "9", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", "\x7f",
                                         std::string("\0", 1), "\xc3\xa4", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                         "\xff", "abc", "{}", "u0000"};
    std::string out;
    for (int n = count(12); n > 0; --n)
      out += pieces[rng_() % (sizeof pieces / sizeof *pieces)];
    return out;
  }

  json::value scalar() {
    switch (rng_() % 7) {
      case 0: return nullptr;
      case 1: return chance(2);
      case 2: return static_cast<int64_t>((uint64_t(rng_()) << 32) | rng_());
      case 3: return (uint64_t(rng_()) << 32) | rng_();
      case 4: return static_cast<double>(static_cast<int32_t>(rng_())) / 8;  // exact in binary
      default: return json::string(text());
    }
  }

  json::object object(int depth) {
    json::object o;
    for (int n = count(4); n > 0; --n) {
      const std::string k = text();
      if (depth > 0 && chance(3))
        o[k] = object(depth - 1);
      else if (depth > 0 && chance(4))
        o[k] = json::array{scalar(), json::value(object(depth - 1)), scalar()};
      else
        o[k] = scalar();
    }
    return o;
  }

  std::mt19937 rng_;
};

TEST(StateWriter, RandomStatesWithAFixedSeed) {
  RandomStates gen(20261118);
  for (int n = 0; n < 3000; ++n) {
    CustomerState s = gen.next();
    SCOPED_TRACE("state " + std::to_string(n));
    expect_same_document(s);
    if (HasFailure())
      break;
  }
}

TEST(StateWriter, EventsAreWrittenLikeTheirDomWithPreviousId) {
  // serialize_event (the input log's event record) against the DOM form it replaces.
  auto dom_text = [](const Event& e) {
    auto o = e.to_json();
    if (!e.previous_id.empty())
      o["previousId"] = e.previous_id;
    return json::serialize(o);
  };
  std::vector<Event> events;
  for (const std::string text : {std::string("plain"), std::string("q\"b\\s\n\x01\x1f é ✓"), std::string()}) {
    Event e;
    e.type = EventType::track;
    e.name = text;
    e.user_id = "u" + text;
    e.message_id = text.empty() ? "" : "m" + text;
    e.timestamp = 1795000000123;
    e.properties = json::object{{text, json::array{text, 1, -2, 2.5, 1e300, nullptr, true}},
                                {"n", json::object{{"deep", json::object{{text, 0.1}}}}}};
    e.traits = json::object{{"email", text}};
    e.context = json::object{{"ip", "127.0.0.1"}};
    events.push_back(e);
    e.type = EventType::alias;
    e.user_id = "u1";
    e.anonymous_id = text.empty() ? "" : "a" + text;
    e.previous_id = "p" + text;
    events.push_back(e);
  }
  for (const auto& e : events) {
    std::string out = "hdr";
    serialize_event(e, out);
    EXPECT_EQ(out, "hdr" + dom_text(e));
  }
}

}  // namespace
}  // namespace waymark
