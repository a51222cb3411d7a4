// MergeWaits (include/waymark/merge_waits.hpp): a merge whose wait would close
// a cycle of waiting customers is refused; every other wait is accepted.
#include "waymark/merge_waits.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace waymark {
namespace {

TEST(MergeWaits, ASecondMergeInTheOppositeDirectionIsRefusedAsACycle) {
  MergeWaits w;
  ASSERT_TRUE(w.begin("b", "a"));  // b merges a
  auto back = w.begin("a", "b");   // a merges b: each would wait for the other
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code, "alias_cycle");
  EXPECT_NE(back.error().message.find("a -> b -> a"), std::string::npos) << back.error().message;
  EXPECT_EQ(w.size(), 1u);
}

TEST(MergeWaits, TheWaitThatClosesALongerCycleIsRefusedAndTheChainBeforeItIsNot) {
  MergeWaits w;
  ASSERT_TRUE(w.begin("b", "a"));
  ASSERT_TRUE(w.begin("c", "b"));  // a chain: c waits for b, b for a
  auto closing = w.begin("a", "c");
  ASSERT_FALSE(closing);
  EXPECT_EQ(closing.error().code, "alias_cycle");
  EXPECT_NE(closing.error().message.find("a -> c -> b -> a"), std::string::npos) << closing.error().message;
  EXPECT_TRUE(w.begin("d", "c")) << "a longer chain without a cycle is fine";
}

TEST(MergeWaits, AnEndedWaitNoLongerCountsAndAStaleTicketEndsNothing) {
  MergeWaits w;
  auto t1 = w.begin("b", "a");
  ASSERT_TRUE(t1);
  w.end("b", *t1);
  EXPECT_EQ(w.size(), 0u);
  auto t2 = w.begin("a", "b");
  ASSERT_TRUE(t2) << "b no longer waits, so a may";
  auto t3 = w.begin("b", "c");
  ASSERT_TRUE(t3);
  w.end("b", *t1);  // the first incarnation's ticket
  EXPECT_EQ(w.size(), 2u);
  EXPECT_FALSE(w.begin("c", "a")) << "c -> a -> b -> c";
}

TEST(MergeWaits, ACustomerWaitsForOneMergeAtATime) {
  MergeWaits w;
  ASSERT_TRUE(w.begin("b", "a"));
  auto second = w.begin("b", "c");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, "merge_in_flight");
}

TEST(MergeWaits, OfTwoThreadsMergingAPairInOppositeDirectionsExactlyOneWaits) {
  for (int round = 0; round < 200; ++round) {
    MergeWaits w;
    bool ok1 = false, ok2 = false;
    std::thread t([&] { ok2 = w.begin("a", "b").ok(); });
    ok1 = w.begin("b", "a").ok();
    t.join();
    ASSERT_NE(ok1, ok2) << "round " << round;
  }
}

}  // namespace
}  // namespace waymark
