// Templates beyond validation_test.cpp (PRODUCT.md §7): placeholder syntax,
// value formatting, fallbacks, the HTML escaping of email and the
// missing-value rule that suppresses a send (src/journey/template.cpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "waymark/template.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

TemplatePtr template_of(const std::string& text) {
  std::vector<ValidationError> errors;
  auto t = parse_template(json::parse(text), errors);
  EXPECT_TRUE(t) << (errors.empty() ? "" : errors.front().path + ": " + errors.front().message);
  return t;
}

/// Renders a one-part template {"body": body} over these traits.
RenderResult render_body(const std::string& body, const char* traits_json, bool html = false) {
  json::object o{{"id", "t"}, {"body", body}};
  std::vector<ValidationError> errors;
  auto t = parse_template(o, errors);
  if (!t) {
    RenderResult bad;
    bad.missing_path = "(parse error: " + (errors.empty() ? std::string() : errors.front().message) + ")";
    return bad;
  }
  json::object traits = json::parse(traits_json).as_object();
  return render(*t, RenderContext{&traits, nullptr, nullptr}, html);
}

std::string body_of(const std::string& body, const char* traits_json, bool html = false) {
  auto r = render_body(body, traits_json, html);
  if (!r.ok)
    return "<missing " + r.missing_path + ">";
  return std::string(r.content.at("body").as_string());
}

TEST(TemplateRender, SpacesAroundThePathAndTheFallbackAreIgnored) {
  EXPECT_EQ(body_of("Hi {{ traits.name }}!", R"({"name":"Ana"})"), "Hi Ana!");
  EXPECT_EQ(body_of("Hi {{ traits.name | friend }}!", "{}"), "Hi friend!");
}

TEST(TemplateRender, AFallbackStandsInForAbsentAndNullValuesOnly) {
  EXPECT_EQ(body_of("{{traits.name|friend}}", R"({"name":"Ana"})"), "Ana");
  EXPECT_EQ(body_of("{{traits.name|friend}}", R"({"name":null})"), "friend");
  EXPECT_EQ(body_of("[{{traits.name|friend}}]", R"({"name":""})"), "[]") << "an empty string is a value";
  EXPECT_EQ(body_of("[{{traits.name|}}]", "{}"), "[]") << "an empty fallback is allowed";
  EXPECT_EQ(body_of("{{traits.name|a|b}}", "{}"), "a|b") << "the fallback is all text after the first bar";
}

TEST(TemplateRender, ANullValueWithoutFallbackSuppressesLikeAnAbsentOne) {
  auto r = render_body("Hi {{traits.name}}", R"({"name":null})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.missing_path, "traits.name");
  EXPECT_TRUE(r.content.empty());
}

TEST(TemplateRender, ValuesAreFormattedAsText) {
  EXPECT_EQ(body_of("{{traits.n}} {{traits.x}} {{traits.big}} {{traits.yes}} {{traits.neg}}",
                    R"({"n":42,"x":4.5,"big":18446744073709551615,"yes":true,"neg":-3})"),
            "42 4.5 18446744073709551615 true -3");
  EXPECT_EQ(body_of("{{traits.d}}", R"({"d":2.0})"), "2") << "integral doubles print without .0";
  EXPECT_EQ(body_of("{{traits.tags}}", R"({"tags":["a","b"]})"), R"(["a","b"])");
}

TEST(TemplateRender, NestedPathsWalkObjectsAndStopAtNonObjects) {
  EXPECT_EQ(body_of("{{traits.address.city}}", R"({"address":{"city":"Berlin"}})"), "Berlin");
  EXPECT_EQ(body_of("{{traits.address.city|?}}", R"({"address":"Berlin"})"), "?");
  EXPECT_EQ(body_of("{{traits.address.city}}", R"({"address":{}})"), "<missing traits.address.city>");
}

TEST(TemplateRender, LiteralTextAndSingleBracesPassThroughUnescaped) {
  EXPECT_EQ(body_of("a { b } <i>&</i>", "{}", true), "a { b } <i>&</i>");
}

TEST(TemplateRender, EmailEscapingCoversValuesAndFallbacks) {
  EXPECT_EQ(body_of("<b>{{traits.name}}</b>", R"({"name":"Tom & <Jerry>"})", true), "<b>Tom &amp; &lt;Jerry&gt;</b>");
  EXPECT_EQ(body_of("{{traits.name|Tom & Jerry}}", "{}", true), "Tom &amp; Jerry");
  EXPECT_EQ(body_of("{{traits.name}}", R"({"name":"it's \"x\""})", true), "it&#39;s &quot;x&quot;");
  EXPECT_EQ(body_of("{{traits.name}}", R"({"name":"Tom & <Jerry>"})", false), "Tom & <Jerry>");
}

TEST(TemplateRender, EntryAndEventRootsReadTheirOwnEvent) {
  auto t = template_of(R"({"id":"t","channel":"sms",
    "text":"{{entry.properties.cart_id}} {{event.name}} {{event.properties.step}} {{entry.event}}"})");
  json::object traits;
  json::object entry{{"event", "Cart Updated"}, {"properties", json::object{{"cart_id", "C1"}}}};
  json::object event{{"name", "Reminder"}, {"properties", json::object{{"step", 2}}}};
  auto r = render(*t, RenderContext{&traits, &entry, &event}, false);
  ASSERT_TRUE(r.ok) << r.missing_path;
  EXPECT_EQ(r.content.at("text"), json::value("C1 Reminder 2 Cart Updated"));
  EXPECT_EQ(t->channel, "sms");
  auto no_entry = render(*t, RenderContext{&traits, nullptr, &event}, false);
  EXPECT_FALSE(no_entry.ok) << "a condition entry has no entry event";
  EXPECT_EQ(no_entry.missing_path, "entry.properties.cart_id");
}

TEST(TemplateRender, OneMissingValueSuppressesEveryPart) {
  auto t = template_of(R"({"id":"t","subject":"Hi {{traits.name|there}}","body":"Code {{traits.code}}"})");
  json::object traits;
  auto r = render(*t, RenderContext{&traits, nullptr, nullptr}, true);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.missing_path, "traits.code");
  EXPECT_TRUE(r.content.empty()) << "never a message with a hole in it";
}

TEST(TemplateRender, TheSubjectIsPlainTextWhileTheBodyIsEscaped) {
  auto t = template_of(R"({"id":"t","subject":"For {{traits.name}}","body":"<p>Hi {{traits.name}}</p>"})");
  json::object traits{{"name", "Tom & <Jerry>"}};
  auto r = render(*t, RenderContext{&traits, nullptr, nullptr}, true);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.content.at("subject"), json::value("For Tom & <Jerry>"));
  EXPECT_EQ(r.content.at("body"), json::value("<p>Hi Tom &amp; &lt;Jerry&gt;</p>"));
}

TEST(TemplateRender, EveryStringFieldButIdAndChannelIsAPart) {
  auto t = template_of(R"({"id":"t","channel":"email","subject":"S","body":"B","html":"<p>H</p>"})");
  json::object traits;
  auto r = render(*t, RenderContext{&traits, nullptr, nullptr}, true);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.content, json::parse(R"({"subject":"S","body":"B","html":"<p>H</p>"})").as_object());
}

// ---- parse errors ---------------------------------------------------------------------

std::vector<ValidationError> errors_of(const std::string& text) {
  std::vector<ValidationError> errors;
  auto t = parse_template(json::parse(text), errors);
  EXPECT_EQ(t == nullptr, !errors.empty()) << text;
  return errors;
}

bool has_error_at(const std::vector<ValidationError>& errors, const std::string& path) {
  for (const auto& e : errors)
    if (e.path == path)
      return true;
  return false;
}

TEST(TemplateParse, IdIsRequiredAndWellFormed) {
  EXPECT_TRUE(has_error_at(errors_of(R"({"body":"x"})"), "id"));
  EXPECT_TRUE(has_error_at(errors_of(R"({"id":"a b","body":"x"})"), "id"));
  EXPECT_TRUE(has_error_at(errors_of(R"({"id":"","body":"x"})"), "id"));
  EXPECT_FALSE(errors_of("[]").empty());
}

TEST(TemplateParse, PartsMustBeStrings) {
  EXPECT_TRUE(has_error_at(errors_of(R"({"id":"t","body":{"text":"x"}})"), "body"));
  EXPECT_TRUE(has_error_at(errors_of(R"({"id":"t","channel":5,"body":"x"})"), "channel"));
}

TEST(TemplateParse, PlaceholdersMustNameAKnownRootAndAWholePath) {
  for (const char* body : {"{{profile.name}}", "{{traits}}", "{{traits.}}", "{{traits..a}}", "{{.traits.a}}",
                           "{{traits.first name}}", "{{ |x}}", "{{a {{traits.x}}", "x }} y"}) {
    auto errors = errors_of(std::string(R"({"id":"t","body":")") + body + "\"}");
    EXPECT_TRUE(has_error_at(errors, "body")) << body;
  }
}

TEST(TemplateParse, ErrorsNameThePartTheyAreIn) {
  auto errors = errors_of(R"({"id":"t","subject":"ok {{traits.a}}","body":"bad {{traits.b"})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "body");
}

// Issue #12: a template with no channel, an unknown channel or a misspelt
// part was deployed (and then never sent, or sent without its subject).
std::vector<ValidationError> deploy_errors_of(const std::string& text) {
  std::vector<ValidationError> errors;
  EXPECT_EQ(validate_template(json::parse(text), {"email", "sms"}, errors), nullptr) << text;
  return errors;
}

TEST(TemplateDeploy, AChannelIsRequiredAndMustBeConfigured) {
  auto none = deploy_errors_of(R"({"id":"t","body":"x"})");
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].path, "channel");
  EXPECT_NE(none[0].message.find("missing"), std::string::npos);
  auto unknown = deploy_errors_of(R"({"id":"t","channel":"fax","body":"x"})");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].path, "channel");
  EXPECT_NE(unknown[0].message.find("unknown channel 'fax'"), std::string::npos);
  EXPECT_TRUE(has_error_at(deploy_errors_of(R"({"id":"t","channel":5,"body":"x"})"), "channel"));
}

TEST(TemplateDeploy, UnknownFieldsAreRefusedWithTheirPath) {
  auto errors = deploy_errors_of(R"({"id":"t","channel":"email","subjet":"Hi","body":"x","foo":"y"})");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_TRUE(has_error_at(errors, "subjet"));
  EXPECT_TRUE(has_error_at(errors, "foo"));
  EXPECT_TRUE(has_error_at(deploy_errors_of(R"({"id":"t","channel":"email","body":"{{x"})"), "body"))
    << "parse errors still come through";
}

TEST(TemplateDeploy, EveryKnownPartIsAccepted) {
  std::vector<ValidationError> errors;
  auto t = validate_template(json::parse(R"({"id":"t","channel":"email","subject":"S","body":"B","html":"H",
                                            "text":"T","title":"Ti"})"),
                             {"email"}, errors);
  ASSERT_TRUE(t) << errors.at(0).path << ": " << errors.at(0).message;
  EXPECT_EQ(t->parts.size(), 5u);
  EXPECT_EQ(t->channel, "email");
}

}  // namespace
}  // namespace waymark
