// Segment Spec event parsing beyond validation_test.cpp (PRODUCT.md §4, §8):
// every message type, every field's type, ids, size and depth bounds at their
// edges, and the JSON shape the engine and templates see.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "waymark/engine.hpp"
#include "waymark/event.hpp"
#include "waymark/json.hpp"
#include "waymark/limits.hpp"
#include "waymark/recovery.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

std::string code_of(const std::string& line, Limits limits = {}) {
  auto e = parse_event(line, limits, 1000);
  return e ? std::string("ok") : e.error().code;
}

TEST(Events, EveryTypeParsesWithItsMinimalFields) {
  EXPECT_EQ(code_of(R"({"type":"identify","userId":"u"})"), "ok");
  EXPECT_EQ(code_of(R"({"type":"track","anonymousId":"a","event":"E"})"), "ok");
  EXPECT_EQ(code_of(R"({"type":"page","anonymousId":"a"})"), "ok");
  EXPECT_EQ(code_of(R"({"type":"screen","userId":"u","name":"Home"})"), "ok");
  EXPECT_EQ(code_of(R"({"type":"group","userId":"u","groupId":"g"})"), "ok");
  EXPECT_EQ(code_of(R"({"type":"alias","userId":"u","previousId":"a"})"), "ok");
}

TEST(Events, EveryTypeNeedsAUserIdOrAnAnonymousId) {
  for (const char* type : {"identify", "track", "page", "screen", "group", "alias"}) {
    std::string line = std::string(R"({"type":")") + type + R"(","event":"E","previousId":"p"})";
    EXPECT_EQ(code_of(line), "missing_field") << type;
    line = std::string(R"({"type":")") + type + R"(","event":"E","previousId":"p","userId":"","anonymousId":""})";
    EXPECT_EQ(code_of(line), "missing_field") << type << " with empty ids";
  }
}

TEST(Events, TrackNeedsANonEmptyEventAndAliasNeedsBothIds) {
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":""})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"alias","previousId":"a","anonymousId":"b"})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"alias","userId":"u","previousId":""})"), "missing_field");
}

TEST(Events, EachFieldOfTheWrongTypeIsRefused) {
  const char* cases[] = {
    R"({"type":1,"userId":"u","event":"E"})",
    R"({"type":"track","userId":["u"],"event":"E"})",
    R"({"type":"track","anonymousId":5,"event":"E"})",
    R"({"type":"track","userId":"u","event":{"n":1}})",
    R"({"type":"track","userId":"u","event":"E","messageId":42})",
    R"({"type":"track","userId":"u","event":"E","traits":"vip"})",
    R"({"type":"track","userId":"u","event":"E","context":[]})",
    R"({"type":"track","userId":"u","event":"E","timestamp":1700000000})",
    R"({"type":"alias","userId":"u","previousId":7})",
    R"({"type":"page","userId":"u","name":true})",
  };
  for (const char* line : cases)
    EXPECT_EQ(code_of(line), "wrong_type") << line;
}

TEST(Events, NullOptionalFieldsCountAsAbsent) {
  auto e = parse_event(R"({"type":"track","userId":"u","anonymousId":null,"event":"E","properties":null,
                          "messageId":null,"timestamp":null})",
                       Limits{}, 1234);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_TRUE(e->properties.empty());
  EXPECT_EQ(e->message_id, "");
  EXPECT_EQ(e->timestamp, 1234) << "the receive time stands in for a missing timestamp";
}

TEST(Events, IdsAreBoundedAndFreeOfControlCharacters) {
  const std::string id255(255, 'u');
  EXPECT_EQ(code_of(R"({"type":"identify","userId":")" + id255 + R"("})"), "ok");
  EXPECT_EQ(code_of(R"({"type":"identify","userId":")" + id255 + R"(u"})"), "too_large");
  EXPECT_EQ(code_of(R"({"type":"identify","anonymousId":")" + id255 + R"(a"})"), "too_large");
  EXPECT_EQ(code_of(R"({"type":"alias","userId":"u","previousId":")" + id255 + R"(p"})"), "too_large");
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","messageId":")" + id255 + R"(m"})"),
            "too_large");
  EXPECT_EQ(code_of(R"({"type":"identify","userId":"u\u0000x"})"), "bad_value");
  EXPECT_EQ(code_of(R"({"type":"identify","userId":"u\nx"})"), "bad_value");
  EXPECT_EQ(code_of(R"({"type":"alias","userId":"u","previousId":"p\tq"})"), "bad_value");
}

TEST(Events, TheSizeLimitIsInclusive) {
  const std::string head = R"({"type":"track","userId":"u","event":"E","properties":{"p":")";
  const std::string tail = "\"}}";
  Limits limits;
  limits.event_bytes_max = 200;
  const std::string exact = head + std::string(200 - head.size() - tail.size(), 'x') + tail;
  ASSERT_EQ(exact.size(), 200u);
  EXPECT_EQ(code_of(exact, limits), "ok");
  EXPECT_EQ(code_of(head + std::string(201 - head.size() - tail.size(), 'x') + tail, limits), "too_large");
}

TEST(Events, TheDepthLimitIsInclusiveAndCountsArraysToo) {
  Limits limits;
  limits.json_depth_max = 4;
  // depth: event object 1, properties 2, a 3, [ 4
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","properties":{"a":{"b":[1]}}})", limits), "ok");
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","properties":{"a":{"b":[[1]]}}})", limits),
            "too_deep");
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","properties":{"a":"{{{{{{"}})", limits), "ok")
    << "brackets inside strings are text";
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","properties":{"a":"\"{{{{{{"}})", limits), "ok");
  EXPECT_EQ(code_of(std::string(1000, '[') + std::string(1000, ']')), "too_deep") << "default limit 64";
}

TEST(Events, MalformedTextIsBadJson) {
  EXPECT_EQ(code_of(""), "bad_json");
  EXPECT_EQ(code_of("{"), "bad_json");
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E"} trailing)"), "bad_json");
  EXPECT_EQ(code_of("{\"type\":\"track\",\"userId\":\"\xff\",\"event\":\"E\"}"), "bad_json") << "invalid UTF-8";
  EXPECT_EQ(code_of(R"("just a string")"), "not_object");
  EXPECT_EQ(code_of("null"), "not_object");
}

TEST(Events, TimestampsWithOffsetsAreReadAsUtc) {
  auto e = parse_event(R"({"type":"track","userId":"u","event":"E","timestamp":"2026-11-02T14:00:00+02:00"})",
                       Limits{}, 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->timestamp, parse_rfc3339("2026-11-02T12:00:00Z").value());
}

TEST(Events, PageAndScreenKeepTheirNameAndTheJsonShapeHasEveryField) {
  auto e = parse_event(R"({"type":"screen","userId":"u","anonymousId":"a","name":"Home","messageId":"m1",
                          "properties":{"x":1},"traits":{"t":2},"context":{"ip":"1.2.3.4"},
                          "timestamp":"2026-11-02T12:00:00Z"})",
                       Limits{}, 0);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->type, EventType::screen);
  EXPECT_EQ(e->name, "Home");
  EXPECT_EQ(e->to_json(), json::parse(R"({"type":"screen","name":"Home","event":"Home","userId":"u",
    "anonymousId":"a","properties":{"x":1},"traits":{"t":2},"context":{"ip":"1.2.3.4"},
    "timestamp":"2026-11-02T12:00:00.000Z","messageId":"m1"})"));
}

TEST(Events, AParsedValueCanTakeItsTypeFromTheEndpoint) {
  auto v = json::parse(R"({"userId":"u","event":"E"})");
  auto e = event_from_json(v, 0, "track");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->type, EventType::track);
  auto explicit_type = event_from_json(json::parse(R"({"type":"identify","userId":"u"})"), 0, "track");
  ASSERT_TRUE(explicit_type);
  EXPECT_EQ(explicit_type->type, EventType::identify) << "a type in the body wins";
  EXPECT_FALSE(event_from_json(v, 0));
}

// Issue #12: a number outside the double range parsed to an infinite double,
// was acked, and stored as `Infinity`: the customer became unreadable.
TEST(EventsEdge, NumbersOutsideTheDoubleRangeAreRefusedWithTheirPath) {
  const std::string digits309(309, '9');
  const std::pair<std::string, std::string> cases[] = {
    {R"({"n":1e400})", "properties.n"},
    {R"({"n":-1e400})", "properties.n"},
    {R"({"n":1.8e308})", "properties.n"},
    {R"({"n":)" + digits309 + "}", "properties.n"},
    {R"({"n":-)" + digits309 + ".5}", "properties.n"},
    {R"({"a":[1,{"b":[2,1e999]}]})", "properties.a[1].b[1]"},
  };
  for (const auto& [props, path] : cases) {
    auto e = parse_event(R"({"type":"track","userId":"p1","event":"E","properties":)" + props + "}", Limits{}, 0);
    ASSERT_FALSE(e) << props;
    EXPECT_EQ(e.error().code, "bad_number") << props;
    EXPECT_NE(e.error().message.find(path + ": number outside the double range"), std::string::npos)
      << props << " -> " << e.error().message;
  }
  auto traits = parse_event(R"({"type":"identify","userId":"p1","traits":{"x":1e400}})", Limits{}, 0);
  ASSERT_FALSE(traits);
  EXPECT_EQ(traits.error().code, "bad_number");
  auto top = parse_input_json("-1e400", 64);
  ASSERT_FALSE(top);
  EXPECT_EQ(top.error().code, "bad_number");
}

TEST(EventsEdge, CheckStorableWalksValuesBuiltInCode) {
  json::value v = json::parse(R"({"a":[1,2,{"b":{}}],"c":"x"})");
  EXPECT_TRUE(check_storable(v));
  v.as_object()["a"].as_array()[2].as_object()["b"].as_object()["z"] = HUGE_VAL;
  auto r = check_storable(v);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("a[2].b.z"), std::string::npos) << r.error().message;
  EXPECT_FALSE(check_storable(json::value(-HUGE_VAL)));
  EXPECT_FALSE(check_storable(json::value(std::nan(""))));
}

TEST(EventsEdge, LoneSurrogatesAreRefusedAndPairsAccepted) {
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","properties":{"s":"\ud800"}})"), "bad_json");
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","properties":{"s":"\udc00"}})"), "bad_json");
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"\ud800x"})"), "bad_json");
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","properties":{"s":"\ud83d\ude00"}})"), "ok");
  for (const char* lone : {R"({"s":"\ud800"})", R"({"s":"\uDBFF x"})", R"({"s":"\udc00"})", R"({"s":"\ud800\u0041"})"}) {
    auto r = parse_input_json(lone, 64);
    ASSERT_FALSE(r) << lone;
    EXPECT_EQ(r.error().message.substr(0, 21), "invalid JSON at byte ") << r.error().message;
    EXPECT_NE(r.error().message.find("lone UTF-16 surrogate escape"), std::string::npos) << r.error().message;
  }
  auto other = parse_input_json(R"({"a":1,})", 64);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message, "invalid JSON at byte 7: syntax error");
}

TEST(EventsEdge, TimestampsOutsideYears0001To9999AsUtcAreRefused) {
  for (const char* ts : {"9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00+01:00", "0000-06-01T00:00:00Z"}) {
    auto e = parse_event(std::string(R"({"type":"identify","userId":"u","timestamp":")") + ts + "\"}", Limits{}, 0);
    ASSERT_FALSE(e) << ts;
    EXPECT_EQ(e.error().code, "bad_value");
    EXPECT_NE(e.error().message.find("0001-9999"), std::string::npos) << e.error().message;
  }
  EXPECT_EQ(code_of(R"({"type":"identify","userId":"u","timestamp":"9999-12-31T23:59:59+01:00"})"), "ok");
  EXPECT_EQ(code_of(R"({"type":"identify","userId":"u","timestamp":"0001-01-01T00:00:00-01:00"})"), "ok");
}

std::string nested_properties(int levels) {
  std::string s = "1";
  for (int i = 0; i < levels; ++i)
    s = R"({"a":)" + s + "}";
  return s;
}

// What the edge accepts must come back from the input log as the same event
// (the log record is what recovery replays after a kill -9).
TEST(EventsEdge, WhatTheEdgeAcceptsReadsBackFromTheLogUnchanged) {
  const std::string digits308(308, '9');
  const std::string props[] = {
    R"({"n":1.7976931348623157e308,"m":-1.7976931348623157e308})",
    R"({"tiny":1e-400,"sub":4.9e-324,"negzero":-0,"negzerod":-0.0,"e":-0e0})",
    R"({"big":)" + digits308 + R"(,"u":18446744073709551615,"over":18446744073709551616})",
    R"({"i":-9223372036854775808,"i2":-9223372036854775809,"exp":1E+308,"frac":0.1})",
    R"({"s":"\ud83d\ude00 \u0000 \u001f \"q\" \\ </script>","dup":1,"dup":2})",
    R"({"long":)" + std::string(2000, '1') + ".5e-1800}",
    nested_properties(63),  // the event object, then 63 levels from properties down: exactly 64
  };
  for (const auto& p : props) {
    auto e = parse_event(R"({"type":"track","userId":"u","event":"E","timestamp":"9999-12-31T23:59:59.999Z",)"
                         R"("properties":)" + p + "}",
                         Limits{}, 0);
    ASSERT_TRUE(e) << p << " -> " << e.error().message;
    auto back = decode_input(encode_event_input(*e, 5, 1));
    ASSERT_TRUE(back) << p << " -> " << back.error().message;
    EXPECT_EQ(back->ev.to_json(), e->to_json()) << p;
  }
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","properties":)" + nested_properties(64) + "}"),
            "too_deep");
}

}  // namespace
}  // namespace waymark
