// Handoffs (include/waymark/handoffs.hpp): the marks of customers being merged
// into another owner's customer, their durable text, and MergeWaits::waiting,
// which a member asks before it answers whether a merge happened.
#include "waymark/handoffs.hpp"

#include <gtest/gtest.h>

#include "waymark/merge_waits.hpp"

namespace waymark {
namespace {

TEST(Handoffs, MarksAreSetReadAndErased) {
  Handoffs h;
  EXPECT_EQ(h.size(), 0u);
  EXPECT_FALSE(h.into("b"));
  h.set("b", "a");
  h.set("c", "a");
  EXPECT_EQ(h.into("b").value_or(""), "a");
  EXPECT_FALSE(h.into("a")) << "the merging customer is not marked";
  EXPECT_EQ(h.size(), 2u);
  h.erase("b");
  EXPECT_FALSE(h.into("b"));
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.all(), (std::map<std::string, std::string>{{"c", "a"}}));
}

TEST(Handoffs, TheDurableTextRoundTrips) {
  std::map<std::string, std::string> marks{{"anon-1", "user-1"}, {"anon-\"2\"", "user-\xc3\xa9"}};
  auto text = Handoffs::encode(marks);
  EXPECT_EQ(Handoffs::encode({{"b", "a"}}), R"({"b":"a"})");
  auto back = Handoffs::decode(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, marks);
  auto none = Handoffs::decode("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty()) << "no entry stored yet: no marks";
}

TEST(Handoffs, AMalformedTextIsAnErrorNamingWhatIsWrong) {
  auto not_json = Handoffs::decode("{\"b\":");
  ASSERT_FALSE(not_json);
  EXPECT_EQ(not_json.error().code, "bad_json");
  auto not_object = Handoffs::decode("[\"b\"]");
  ASSERT_FALSE(not_object);
  EXPECT_EQ(not_object.error().code, "bad_value");
  auto not_id = Handoffs::decode(R"({"b":"a","c":7})");
  ASSERT_FALSE(not_id);
  EXPECT_EQ(not_id.error().message, "handoffs.c: not a customer id");
  EXPECT_FALSE(Handoffs::decode(R"({"b":""})")) << "an empty target";
}

TEST(MergeWaits, WaitingIsTrueOnlyForTheRegisteredPairUntilItsEnd) {
  MergeWaits w;
  EXPECT_FALSE(w.waiting("a", "b"));
  auto t = w.begin("a", "b");
  ASSERT_TRUE(t);
  EXPECT_TRUE(w.waiting("a", "b"));
  EXPECT_FALSE(w.waiting("b", "a"));
  EXPECT_FALSE(w.waiting("a", "c"));
  w.end("a", *t + 1);  // a stale ticket ends nothing
  EXPECT_TRUE(w.waiting("a", "b"));
  w.end("a", *t);
  EXPECT_FALSE(w.waiting("a", "b"));
}

}  // namespace
}  // namespace waymark
