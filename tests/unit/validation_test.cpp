// Journey validation (every error with its path), template parsing and
// rendering (fallbacks, missing values, HTML escaping) and Segment event
// parsing (required fields, wrong types, size and depth): PRODUCT.md §4, §7, §8.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "waymark/event.hpp"
#include "waymark/journey.hpp"
#include "waymark/limits.hpp"
#include "waymark/template.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

ValidationContext context() {
  ValidationContext c;
  c.channels = {"email", "sms", "push"};
  c.template_exists = [](const std::string& id) { return id == "welcome" || id == "nudge"; };
  c.template_channel = [](const std::string& id) { return id == "welcome" ? std::string("email") : std::string(); };
  return c;
}

/// A valid journey with `steps` replaced.
json::value journey_with(const std::string& steps, const std::string& start = "a") {
  return json::parse(R"({"id":"j","name":"J","entry":{"event":"Go"},"start":")" + start + R"(","steps":)" + steps +
                     "}");
}

std::vector<ValidationError> errors_of(const json::value& v) {
  std::vector<ValidationError> errors;
  auto j = parse_journey(v, context(), errors);
  EXPECT_EQ(j == nullptr, !errors.empty());
  return errors;
}

::testing::AssertionResult has_error_at(const std::vector<ValidationError>& errors, const std::string& path) {
  std::string all;
  for (auto& e : errors) {
    if (e.path == path)
      return ::testing::AssertionSuccess();
    all += "\n  " + e.path + ": " + e.message;
  }
  return ::testing::AssertionFailure() << "no error at " << path << "; got:" << all;
}

TEST(JourneyValidation, AValidJourneyWithEveryStepTypeParses) {
  auto v = journey_with(R"({
    "a": {"type":"send","channel":"email","template":"welcome","next":"b"},
    "b": {"type":"wait","duration":"2d","next":"c"},
    "c": {"type":"branch","cases":[{"when":{"path":"traits.plan","op":"eq","value":"pro"},"next":"g"}],"default":"d"},
    "d": {"type":"wait_event","event":"Clicked","timeout":"1h","next":"g","timeout_next":"e"},
    "e": {"type":"split","variants":[{"name":"x","weight":1,"next":"f"},{"name":"y","weight":1,"next":"h"}]},
    "f": {"type":"update","set":{"traits.stage":"x"},"next":"g"},
    "h": {"type":"jump","journey":"other"},
    "g": {"type":"exit"}})");
  auto errors = errors_of(v);
  EXPECT_TRUE(errors.empty()) << errors.front().path << ": " << errors.front().message;
}

TEST(JourneyValidation, AnUnknownStepTypeIsReportedAtTheStep) {
  auto errors = errors_of(journey_with(R"({"a":{"type":"teleport","next":"b"},"b":{"type":"exit"}})"));
  EXPECT_TRUE(has_error_at(errors, "steps.a.type"));
}

TEST(JourneyValidation, AnUnknownFieldIsReportedWhereItIs) {
  EXPECT_TRUE(has_error_at(errors_of(journey_with(R"({"a":{"type":"exit","colour":"red"}})")), "steps.a.colour"));
  auto top = journey_with(R"({"a":{"type":"exit"}})");
  top.as_object()["priority"] = 3;
  EXPECT_TRUE(has_error_at(errors_of(top), "priority"));
}

TEST(JourneyValidation, AMissingOrUnknownTargetIsReported) {
  EXPECT_TRUE(has_error_at(errors_of(journey_with(R"({"a":{"type":"wait","duration":"1h"}})")), "steps.a.next"));
  EXPECT_TRUE(has_error_at(errors_of(journey_with(R"({"a":{"type":"wait","duration":"1h","next":"zz"}})")),
                           "steps.a.next"));
  EXPECT_TRUE(has_error_at(errors_of(journey_with(R"({"a":{"type":"exit"}})", "nowhere")), "start"));
}

TEST(JourneyValidation, AnUnreachableStepIsReported) {
  auto errors = errors_of(journey_with(R"({"a":{"type":"exit"},"lost":{"type":"exit"}})"));
  EXPECT_TRUE(has_error_at(errors, "steps.lost"));
}

TEST(JourneyValidation, ACycleWithoutAWaitIsRejectedAndOneWithAWaitIsNot) {
  auto loop = errors_of(journey_with(
    R"({"a":{"type":"update","set":{"traits.n":1},"next":"b"},"b":{"type":"update","set":{"traits.n":2},"next":"a"}})"));
  EXPECT_FALSE(loop.empty());
  auto waited = errors_of(journey_with(
    R"({"a":{"type":"update","set":{"traits.n":1},"next":"b"},"b":{"type":"wait","duration":"1d","next":"a"}})"));
  EXPECT_TRUE(waited.empty()) << waited.front().path << ": " << waited.front().message;
}

TEST(JourneyValidation, UnknownChannelsAndTemplatesAreReported) {
  EXPECT_TRUE(has_error_at(
    errors_of(journey_with(R"({"a":{"type":"send","channel":"fax","template":"welcome","next":"b"},"b":{"type":"exit"}})")),
    "steps.a.channel"));
  EXPECT_TRUE(has_error_at(
    errors_of(journey_with(R"({"a":{"type":"send","channel":"email","template":"ghost","next":"b"},"b":{"type":"exit"}})")),
    "steps.a.template"));
}

TEST(JourneyValidation, BadDurationsAreReportedAtTheirPath) {
  EXPECT_TRUE(has_error_at(errors_of(journey_with(R"({"a":{"type":"wait","duration":"2 days","next":"b"},"b":{"type":"exit"}})")),
                           "steps.a.duration"));
  auto v = journey_with(R"({"a":{"type":"exit"}})");
  v.as_object()["timeout"] = "forever";
  EXPECT_TRUE(has_error_at(errors_of(v), "timeout"));
}

TEST(JourneyValidation, WrongTypesAreReportedAtTheirPath) {
  EXPECT_TRUE(has_error_at(errors_of(journey_with(R"({"a":{"type":"wait","duration":5,"next":"b"},"b":{"type":"exit"}})")),
                           "steps.a.duration"));
  auto v = journey_with(R"({"a":{"type":"exit"}})");
  v.as_object()["steps"] = json::array{};
  EXPECT_FALSE(errors_of(v).empty());
  auto bad_reentry = journey_with(R"({"a":{"type":"exit"}})");
  bad_reentry.as_object()["reentry"] = json::object{{"mode", "sometimes"}};
  EXPECT_TRUE(has_error_at(errors_of(bad_reentry), "reentry.mode"));
}

TEST(JourneyValidation, ABadConditionCarriesItsFullPath) {
  auto errors = errors_of(journey_with(
    R"({"a":{"type":"branch","cases":[{"when":{"path":"traits.x","op":"equals","value":1},"next":"b"}],"default":"b"},
        "b":{"type":"exit"}})"));
  EXPECT_TRUE(has_error_at(errors, "steps.a.cases[0].when.op"));
}

// ---- templates ----------------------------------------------------------------

TemplatePtr template_of(const std::string& text) {
  std::vector<ValidationError> errors;
  auto t = parse_template(json::parse(text), errors);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front().path + ": " + errors.front().message);
  return t;
}

TEST(Templates, PlaceholdersFallbacksAndNumbersRender) {
  auto t = template_of(R"({"id":"t","channel":"email","subject":"Hi {{traits.first_name|there}}",
                          "body":"Cart {{entry.properties.cart_id}} costs {{entry.properties.total}}"})");
  json::object traits;
  json::object entry{{"properties", json::object{{"cart_id", "c-1"}, {"total", 42}}}};
  RenderContext ctx{&traits, &entry, nullptr};
  auto r = render(*t, ctx, false);
  ASSERT_TRUE(r.ok) << r.missing_path;
  EXPECT_EQ(r.content.at("subject"), json::value("Hi there"));
  EXPECT_EQ(r.content.at("body"), json::value("Cart c-1 costs 42"));
}

TEST(Templates, AMissingValueWithoutFallbackSuppressesAndNamesThePath) {
  auto t = template_of(R"({"id":"t","body":"Hello {{traits.first_name}}"})");
  json::object traits;
  auto r = render(*t, RenderContext{&traits, nullptr, nullptr}, false);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.missing_path, "traits.first_name");
  auto ev = template_of(R"({"id":"t","body":"{{event.name}}"})");
  EXPECT_FALSE(render(*ev, RenderContext{&traits, nullptr, nullptr}, false).ok) << "no event when a timer fired";
}

TEST(Templates, ValuesAreHtmlEscapedForEmailButTheTemplateIsNot) {
  auto t = template_of(R"({"id":"t","body":"<p>{{traits.name}}</p>"})");
  json::object traits{{"name", "<script>alert('x') & \"y\"</script>"}};
  auto escaped = render(*t, RenderContext{&traits, nullptr, nullptr}, true);
  ASSERT_TRUE(escaped.ok);
  EXPECT_EQ(escaped.content.at("body"),
            json::value("<p>&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;</p>"));
  auto plain = render(*t, RenderContext{&traits, nullptr, nullptr}, false);
  EXPECT_EQ(plain.content.at("body"), json::value("<p><script>alert('x') & \"y\"</script></p>"));
}

TEST(Templates, UnbalancedAndEmptyPlaceholdersAreRejected) {
  for (const char* body : {"Hi {{traits.x", "Hi traits.x}}", "Hi {{}}"}) {
    std::vector<ValidationError> errors;
    json::object o{{"id", "t"}, {"body", body}};
    EXPECT_EQ(parse_template(o, errors), nullptr) << body;
    EXPECT_FALSE(errors.empty()) << body;
  }
}

// ---- events ---------------------------------------------------------------------

std::string code_of(const std::string& line, Limits limits = {}) {
  auto e = parse_event(line, limits, 1000);
  return e ? std::string("ok") : e.error().code;
}

TEST(EventParsing, EachTypeNeedsItsFields) {
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E"})"), "ok");
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u"})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"identify","anonymousId":"a"})"), "ok");
  EXPECT_EQ(code_of(R"({"type":"identify"})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"alias","userId":"u"})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"alias","previousId":"a","userId":"u"})"), "ok");
  EXPECT_EQ(code_of(R"({"type":"page","userId":"u"})"), "ok");
  EXPECT_EQ(code_of(R"({"userId":"u","event":"E"})"), "missing_field");
  EXPECT_EQ(code_of(R"({"type":"purchase","userId":"u"})"), "bad_type");
}

TEST(EventParsing, WrongTypesAndBadJsonAreRefused) {
  EXPECT_EQ(code_of(R"({"type":"track","userId":7,"event":"E"})"), "wrong_type");
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","properties":[1]})"), "wrong_type");
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","timestamp":"yesterday"})"), "bad_value");
  EXPECT_EQ(code_of(R"({"type":"track",)"), "bad_json");
  EXPECT_EQ(code_of("[1,2]"), "not_object");
}

TEST(EventParsing, SizeAndDepthAreBounded) {
  Limits small;
  small.event_bytes_max = 128;
  std::string big = R"({"type":"track","userId":"u","event":"E","properties":{"p":")" + std::string(200, 'x') + "\"}}";
  EXPECT_EQ(code_of(big, small), "too_large");
  Limits shallow;
  shallow.json_depth_max = 4;
  EXPECT_EQ(code_of(R"({"type":"track","userId":"u","event":"E","properties":{"a":{"b":{"c":{"d":1}}}}})", shallow),
            "too_deep");
}

TEST(EventParsing, TheCustomerKeyIsTheUserIdElseTheAnonymousId) {
  auto both = parse_event(R"({"type":"identify","userId":"u","anonymousId":"a"})", Limits{}, 0);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->customer_key(), "u");
  auto anon = parse_event(R"({"type":"identify","anonymousId":"a"})", Limits{}, 0);
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->customer_key(), "a");
}

}  // namespace
}  // namespace waymark
