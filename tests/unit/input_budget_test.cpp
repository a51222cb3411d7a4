// The node's input budget (include/waymark/input_budget.hpp): what is taken is
// counted until given back, readers stop at the maximum and resume below half.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "waymark/input_budget.hpp"

namespace waymark {
namespace {

TEST(InputBudget, IsExhaustedAtTheMaximumAndResumesBelowHalf) {
  InputBudget b(1000);
  b.take(600);
  EXPECT_FALSE(b.exhausted());
  b.take(400);
  EXPECT_TRUE(b.exhausted());
  EXPECT_FALSE(b.may_resume());
  b.give_back(400);
  EXPECT_FALSE(b.exhausted());
  EXPECT_FALSE(b.may_resume()) << "600 of 1000 is not below half";
  b.give_back(101);
  EXPECT_TRUE(b.may_resume());
  EXPECT_EQ(b.used(), 499u);
  EXPECT_EQ(b.peak(), 1000u);
}

TEST(InputBudget, CountsExactlyUnderConcurrentTakesAndGiveBacks) {
  InputBudget b(1u << 30);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        b.take(7);
        b.give_back(7);
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(b.used(), 0u);
  EXPECT_GE(b.peak(), 7u);
  EXPECT_LE(b.peak(), 28u);
}

}  // namespace
}  // namespace waymark
