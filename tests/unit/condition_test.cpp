// Journey conditions: parsing, validation paths and evaluation
// (src/journey/condition.cpp).
#include "waymark/condition.hpp"

#include <gtest/gtest.h>

namespace waymark {
namespace {

namespace json = boost::json;

constexpr Millis kDay = 86400 * 1000;

ConditionPtr parse_ok(const char* text) {
  std::vector<ValidationError> errors;
  auto c = parse_condition(json::parse(text), "when", errors);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors[0].path + ": " + errors[0].message);
  return c;
}

std::vector<ValidationError> parse_errors(const char* text, const std::string& path = "when") {
  std::vector<ValidationError> errors;
  auto c = parse_condition(json::parse(text), path, errors);
  EXPECT_EQ(c, nullptr);
  return errors;
}

// Profile traits {"country":"DE","age":30,"plan":"free","tags":["vip","beta"]},
// the event "Cart Viewed" with properties and context, and no history.
struct Fixture : ::testing::Test {
  json::object traits = json::parse(R"({"country":"DE","age":30,"plan":"free",
      "tags":["vip","beta"],"address":{"city":"Berlin"},"nothing":null})").as_object();
  std::string name = "Cart Viewed";
  json::object props = json::parse(R"({"total":19.5,"items":3,"sku":"A-1"})").as_object();
  json::object context = json::parse(R"({"locale":"de-DE"})").as_object();
  VecDeque<HistoryEntry> history;
  EvalContext ctx;

  void SetUp() override {
    ctx.traits = &traits;
    ctx.event_name = &name;
    ctx.event_properties = &props;
    ctx.event_context = &context;
    ctx.history = &history;
    ctx.now = 100 * kDay;
  }
  bool eval(const char* text) {
    auto c = parse_ok(text);
    return c && evaluate(*c, ctx);
  }
};

using ConditionEval = Fixture;

// ---- compare ------------------------------------------------------------------

TEST(ConditionCompare, EqComparesNumbersByValueWhateverTheirStorage) {
  const json::value i(int64_t{3}), u(uint64_t{3}), d(3.0);
  EXPECT_TRUE(compare(&i, CmpOp::eq, u));
  EXPECT_TRUE(compare(&i, CmpOp::eq, d));
  EXPECT_TRUE(compare(&u, CmpOp::eq, d));
  EXPECT_FALSE(compare(&i, CmpOp::eq, json::value(3.5)));
}

TEST(ConditionCompare, EqAndNeOnStringsBoolsArraysAndObjects) {
  const json::value s("DE"), b(true);
  EXPECT_TRUE(compare(&s, CmpOp::eq, json::value("DE")));
  EXPECT_FALSE(compare(&s, CmpOp::eq, json::value("de")));
  EXPECT_TRUE(compare(&s, CmpOp::ne, json::value("FR")));
  EXPECT_FALSE(compare(&s, CmpOp::ne, json::value("DE")));
  EXPECT_TRUE(compare(&b, CmpOp::eq, json::value(true)));
  const json::value arr = json::parse("[1,\"a\",{\"x\":2}]");
  EXPECT_TRUE(compare(&arr, CmpOp::eq, json::parse("[1.0,\"a\",{\"x\":2}]")));
  EXPECT_FALSE(compare(&arr, CmpOp::eq, json::parse("[1,\"a\"]")));
}

TEST(ConditionCompare, TypeMismatchIsNotEqualAndHasNoOrder) {
  const json::value s("3"), n(3);
  EXPECT_FALSE(compare(&s, CmpOp::eq, n));
  EXPECT_TRUE(compare(&s, CmpOp::ne, n));
  for (CmpOp op : {CmpOp::gt, CmpOp::gte, CmpOp::lt, CmpOp::lte}) {
    EXPECT_FALSE(compare(&s, op, n));
    EXPECT_FALSE(compare(&n, op, s));
  }
}

TEST(ConditionCompare, OrderingOperatorsOnNumbers) {
  const json::value n(10);
  EXPECT_TRUE(compare(&n, CmpOp::gt, json::value(9.5)));
  EXPECT_FALSE(compare(&n, CmpOp::gt, json::value(10)));
  EXPECT_TRUE(compare(&n, CmpOp::gte, json::value(10.0)));
  EXPECT_FALSE(compare(&n, CmpOp::gte, json::value(uint64_t{11})));
  EXPECT_TRUE(compare(&n, CmpOp::lt, json::value(11)));
  EXPECT_FALSE(compare(&n, CmpOp::lt, json::value(10)));
  EXPECT_TRUE(compare(&n, CmpOp::lte, json::value(10)));
  EXPECT_FALSE(compare(&n, CmpOp::lte, json::value(-1)));
}

TEST(ConditionCompare, OrderingOperatorsOnStringsAreLexicographic) {
  const json::value s("beta");
  EXPECT_TRUE(compare(&s, CmpOp::gt, json::value("alpha")));
  EXPECT_TRUE(compare(&s, CmpOp::lt, json::value("gamma")));
  EXPECT_TRUE(compare(&s, CmpOp::gte, json::value("beta")));
  EXPECT_TRUE(compare(&s, CmpOp::lte, json::value("beta")));
  EXPECT_FALSE(compare(&s, CmpOp::lt, json::value("Beta")));  // 'B' < 'b'
}

TEST(ConditionCompare, InNeedsTheValueToEqualOneArrayElement) {
  const json::value s("DE"), n(2);
  EXPECT_TRUE(compare(&s, CmpOp::in, json::parse(R"(["AT","DE"])")));
  EXPECT_FALSE(compare(&s, CmpOp::in, json::parse(R"(["AT","CH"])")));
  EXPECT_TRUE(compare(&n, CmpOp::in, json::parse("[1, 2.0]")));
  EXPECT_FALSE(compare(&s, CmpOp::in, json::value("DE")));  // not an array
}

TEST(ConditionCompare, ContainsIsSubstringForStringsAndMembershipForArrays) {
  const json::value s("hello world"), arr = json::parse(R"(["vip", 7])");
  EXPECT_TRUE(compare(&s, CmpOp::contains, json::value("lo wo")));
  EXPECT_FALSE(compare(&s, CmpOp::contains, json::value("bye")));
  EXPECT_TRUE(compare(&arr, CmpOp::contains, json::value("vip")));
  EXPECT_TRUE(compare(&arr, CmpOp::contains, json::value(7.0)));
  EXPECT_FALSE(compare(&arr, CmpOp::contains, json::value("beta")));
  const json::value n(12);
  EXPECT_FALSE(compare(&n, CmpOp::contains, json::value(1)));
}

TEST(ConditionCompare, StartsWithIsForStringsOnly) {
  const json::value s("pro-annual"), n(123);
  EXPECT_TRUE(compare(&s, CmpOp::starts_with, json::value("pro")));
  EXPECT_FALSE(compare(&s, CmpOp::starts_with, json::value("annual")));
  EXPECT_FALSE(compare(&n, CmpOp::starts_with, json::value("1")));
}

TEST(ConditionCompare, ExistsAndNotExists) {
  const json::value s("x"), null_value(nullptr);
  EXPECT_TRUE(compare(&s, CmpOp::exists, json::value()));
  EXPECT_FALSE(compare(&s, CmpOp::not_exists, json::value()));
  EXPECT_FALSE(compare(nullptr, CmpOp::exists, json::value()));
  EXPECT_TRUE(compare(nullptr, CmpOp::not_exists, json::value()));
  EXPECT_FALSE(compare(&null_value, CmpOp::exists, json::value()));
  EXPECT_TRUE(compare(&null_value, CmpOp::not_exists, json::value()));
}

TEST(ConditionCompare, AMissingValueFailsEveryOperatorExceptNeAndNotExists) {
  for (CmpOp op : {CmpOp::eq, CmpOp::gt, CmpOp::gte, CmpOp::lt, CmpOp::lte, CmpOp::in,
                   CmpOp::contains, CmpOp::starts_with, CmpOp::exists}) {
    EXPECT_FALSE(compare(nullptr, op, json::parse("[1]"))) << static_cast<int>(op);
  }
  EXPECT_TRUE(compare(nullptr, CmpOp::ne, json::value("pro")));
  EXPECT_TRUE(compare(nullptr, CmpOp::not_exists, json::value()));
}

// ---- resolve_path ---------------------------------------------------------------

TEST_F(ConditionEval, PathsResolveIntoTraitsEventNamePropertiesAndContext) {
  json::value holder;
  EXPECT_EQ(*resolve_path("traits.country", ctx, holder), json::value("DE"));
  EXPECT_EQ(*resolve_path("traits.address.city", ctx, holder), json::value("Berlin"));
  EXPECT_EQ(*resolve_path("event.name", ctx, holder), json::value("Cart Viewed"));
  EXPECT_EQ(*resolve_path("event.properties.items", ctx, holder), json::value(3));
  EXPECT_EQ(*resolve_path("event.context.locale", ctx, holder), json::value("de-DE"));
}

TEST_F(ConditionEval, AbsentPathsAndNullRootsResolveToNothing) {
  json::value holder;
  EXPECT_EQ(resolve_path("traits.missing", ctx, holder), nullptr);
  EXPECT_EQ(resolve_path("traits.country.sub", ctx, holder), nullptr);
  EXPECT_EQ(resolve_path("foo.bar", ctx, holder), nullptr);
  EvalContext empty;
  EXPECT_EQ(resolve_path("traits.country", empty, holder), nullptr);
  EXPECT_EQ(resolve_path("event.name", empty, holder), nullptr);
  EXPECT_EQ(resolve_path("event.properties.items", empty, holder), nullptr);
}

// ---- evaluate -------------------------------------------------------------------

TEST_F(ConditionEval, ComparisonsReadTheContext) {
  EXPECT_TRUE(eval(R"({"path":"traits.country","op":"eq","value":"DE"})"));
  EXPECT_FALSE(eval(R"({"path":"traits.country","op":"eq","value":"FR"})"));
  EXPECT_TRUE(eval(R"({"path":"traits.age","op":"gte","value":30})"));
  EXPECT_TRUE(eval(R"({"path":"event.properties.total","op":"gt","value":19})"));
  EXPECT_TRUE(eval(R"({"path":"event.name","op":"starts_with","value":"Cart"})"));
  EXPECT_TRUE(eval(R"({"path":"event.context.locale","op":"in","value":["de-DE","de-AT"]})"));
  EXPECT_TRUE(eval(R"({"path":"traits.tags","op":"contains","value":"vip"})"));
  EXPECT_TRUE(eval(R"({"path":"traits.plan","op":"exists"})"));
  EXPECT_TRUE(eval(R"({"path":"traits.nothing","op":"not_exists"})"));
  EXPECT_TRUE(eval(R"({"path":"traits.email","op":"ne","value":"a@b.c"})"));
  EXPECT_FALSE(eval(R"({"path":"traits.email","op":"eq","value":"a@b.c"})"));
}

TEST_F(ConditionEval, AllAnyAndNotNest) {
  EXPECT_TRUE(eval(R"({"all":[{"path":"traits.country","op":"eq","value":"DE"},
                              {"any":[{"path":"traits.plan","op":"eq","value":"pro"},
                                      {"not":{"path":"traits.age","op":"lt","value":18}}]}]})"));
  EXPECT_FALSE(eval(R"({"all":[{"path":"traits.country","op":"eq","value":"DE"},
                               {"path":"traits.plan","op":"eq","value":"pro"}]})"));
  EXPECT_FALSE(eval(R"({"any":[{"path":"traits.country","op":"eq","value":"FR"},
                               {"path":"traits.plan","op":"eq","value":"pro"}]})"));
  EXPECT_FALSE(eval(R"({"not":{"path":"traits.country","op":"eq","value":"DE"}})"));
}

TEST_F(ConditionEval, EmptyAllIsTrueAndEmptyAnyIsFalse) {
  EXPECT_TRUE(eval(R"({"all":[]})"));
  EXPECT_FALSE(eval(R"({"any":[]})"));
}

TEST_F(ConditionEval, CountCountsMatchingEventsInTheWholeHistory) {
  history = {{"Feature Used", 10 * kDay, {}}, {"Login", 50 * kDay, {}},
             {"Feature Used", 95 * kDay, {}}, {"Feature Used", 99 * kDay, {}}};
  EXPECT_TRUE(eval(R"({"count":{"event":"Feature Used"},"op":"eq","value":3})"));
  EXPECT_TRUE(eval(R"({"count":{"event":"Login"},"op":"eq","value":1})"));
  EXPECT_TRUE(eval(R"({"count":{"event":"Logout"},"op":"eq","value":0})"));
}

TEST_F(ConditionEval, CountWithinOnlySeesRecentEntriesIncludingTheBoundary) {
  history = {{"Feature Used", 10 * kDay, {}}, {"Feature Used", 93 * kDay, {}},
             {"Feature Used", 95 * kDay, {}}, {"Feature Used", 99 * kDay, {}}};
  EXPECT_TRUE(eval(R"({"count":{"event":"Feature Used","within":"7d"},"op":"eq","value":3})"));
  EXPECT_TRUE(eval(R"({"count":{"event":"Feature Used","within":"6d"},"op":"eq","value":2})"));
  EXPECT_FALSE(eval(R"({"count":{"event":"Feature Used","within":"7d"},"op":"gte","value":4})"));
}

TEST_F(ConditionEval, CountWhereBindsEventToTheHistoryEntry) {
  history = {{"Order Completed", 99 * kDay, json::parse(R"({"total":50})").as_object()},
             {"Order Completed", 99 * kDay, json::parse(R"({"total":150})").as_object()},
             {"Order Completed", 99 * kDay, json::parse(R"({"total":250})").as_object()}};
  EXPECT_TRUE(eval(R"({"count":{"event":"Order Completed",
      "where":{"path":"event.properties.total","op":"gt","value":100}},"op":"eq","value":2})"));
  EXPECT_TRUE(eval(R"({"count":{"event":"Order Completed",
      "where":{"path":"event.name","op":"eq","value":"Order Completed"}},"op":"eq","value":3})"));
  // traits stay visible; the current event's context does not leak in
  EXPECT_TRUE(eval(R"({"count":{"event":"Order Completed",
      "where":{"path":"traits.country","op":"eq","value":"DE"}},"op":"eq","value":3})"));
  EXPECT_TRUE(eval(R"({"count":{"event":"Order Completed",
      "where":{"path":"event.context.locale","op":"exists"}},"op":"eq","value":0})"));
}

TEST_F(ConditionEval, CountWithNoHistoryIsZero) {
  ctx.history = nullptr;
  EXPECT_TRUE(eval(R"({"count":{"event":"Feature Used"},"op":"lt","value":1})"));
}

// ---- parse: structure -------------------------------------------------------------

TEST(ConditionParse, CompareFieldsAreKept) {
  auto c = parse_ok(R"({"path":"traits.age","op":"lte","value":40})");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, Condition::Kind::compare);
  EXPECT_EQ(c->path, "traits.age");
  EXPECT_EQ(c->op, CmpOp::lte);
  EXPECT_EQ(c->value, json::value(40));
}

TEST(ConditionParse, CountFieldsAreKept) {
  auto c = parse_ok(R"({"count":{"event":"E","within":"2h",
      "where":{"path":"event.properties.x","op":"exists"}},"op":"gte","value":2})");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, Condition::Kind::count);
  EXPECT_EQ(c->count_event, "E");
  EXPECT_EQ(c->count_within, 2 * 3600 * 1000);
  ASSERT_NE(c->count_where, nullptr);
  EXPECT_EQ(c->count_where->path, "event.properties.x");
}

TEST(ConditionParse, EveryOperatorNameIsAccepted) {
  for (const char* op : {"eq", "ne", "gt", "gte", "lt", "lte", "contains", "starts_with"}) {
    std::string text = std::string(R"({"path":"traits.a","op":")") + op + R"(","value":1})";
    EXPECT_NE(parse_ok(text.c_str()), nullptr) << op;
  }
  EXPECT_NE(parse_ok(R"({"path":"traits.a","op":"in","value":[1]})"), nullptr);
  EXPECT_NE(parse_ok(R"({"path":"traits.a","op":"exists"})"), nullptr);
  EXPECT_NE(parse_ok(R"({"path":"traits.a","op":"not_exists"})"), nullptr);
}

// ---- parse: errors with paths --------------------------------------------------------

TEST(ConditionParse, UnknownOperatorIsReportedAtItsPath) {
  auto errors = parse_errors(R"({"all":[{"path":"traits.a","op":"eq","value":1},
                                         {"path":"traits.b","op":"equals","value":1}]})",
                             "entry.when");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "entry.when.all[1].op");
  EXPECT_EQ(errors[0].message, "unknown operator 'equals'");
}

TEST(ConditionParse, UnknownFieldInAConditionIsReported) {
  auto errors = parse_errors(R"({"path":"traits.a","op":"eq","value":1,"extra":true})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.extra");
  EXPECT_EQ(errors[0].message, "unknown field 'extra'");
}

TEST(ConditionParse, UnknownFieldInsideCountIsReported) {
  auto errors = parse_errors(R"({"count":{"event":"E","since":"1d"},"op":"eq","value":1})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.count.since");
}

TEST(ConditionParse, PathsOutsideTheAllowedRootsAreRejected) {
  for (const char* path : {"foo.bar", "event.x", "event.properties", "traits", "traits.",
                           "traits..a", "event.name.first", "properties.x"}) {
    std::string text = std::string(R"({"path":")") + path + R"(","op":"exists"})";
    auto errors = parse_errors(text.c_str());
    ASSERT_EQ(errors.size(), 1u) << path;
    EXPECT_EQ(errors[0].path, "when.path") << path;
  }
}

TEST(ConditionParse, MissingOpAndMissingValueAreReported) {
  auto errors = parse_errors(R"({"path":"traits.a"})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.op");
  errors = parse_errors(R"({"path":"traits.a","op":"eq"})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.value");
}

TEST(ConditionParse, InNeedsAnArrayValue) {
  auto errors = parse_errors(R"({"path":"traits.a","op":"in","value":"DE"})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.value");
}

TEST(ConditionParse, WrongTypesAreReported) {
  auto errors = parse_errors(R"({"path":42,"op":true,"value":1})");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "when.path");
  EXPECT_EQ(errors[0].message, "expected string");
  EXPECT_EQ(errors[1].path, "when.op");
  errors = parse_errors(R"({"all":{"path":"traits.a","op":"exists"}})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.all");
  errors = parse_errors(R"("traits.a == 1")");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when");
}

TEST(ConditionParse, AnObjectWithNoOrSeveralKindsIsRejected) {
  auto errors = parse_errors(R"({})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when");
  errors = parse_errors(R"({"all":[],"any":[]})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when");
}

TEST(ConditionParse, ErrorsDeepInsideNotAndAnyCarryTheFullPath) {
  auto errors = parse_errors(R"({"not":{"any":[{"path":"traits.a","op":"exists"},
                                               {"path":"nope.a","op":"exists"}]}})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.not.any[1].path");
}

TEST(ConditionParse, AllErrorsAreCollected) {
  auto errors = parse_errors(R"({"all":[{"path":"x.a","op":"exists"},
                                         {"path":"traits.b","op":"bogus","value":1},
                                         {"path":"traits.c","op":"eq","value":1,"y":1}]})");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].path, "when.all[0].path");
  EXPECT_EQ(errors[1].path, "when.all[1].op");
  EXPECT_EQ(errors[2].path, "when.all[2].y");
}

TEST(ConditionParse, CountNeedsAnEventAndANumericOperatorAndValue) {
  auto errors = parse_errors(R"({"count":{"within":"7d"},"op":"eq","value":1})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.count.event");
  errors = parse_errors(R"({"count":{"event":"E"},"op":"contains","value":1})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.op");
  errors = parse_errors(R"({"count":{"event":"E"},"op":"gte","value":"3"})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.value");
  errors = parse_errors(R"({"count":{"event":"E"},"op":"gte"})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.value");
}

TEST(ConditionParse, CountWithABadDurationOrBadWhereIsReported) {
  auto errors = parse_errors(R"({"count":{"event":"E","within":"2 days"},"op":"eq","value":1})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.count.within");
  EXPECT_EQ(errors[0].message, "bad duration '2 days' (use 30s, 15m, 2h, 3d, 1w)");
  errors = parse_errors(
      R"({"count":{"event":"E","where":{"path":"traits.a","op":"nah"}},"op":"eq","value":1})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "when.count.where.op");
}

}  // namespace
}  // namespace waymark
