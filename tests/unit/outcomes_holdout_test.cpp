// Holdout assignment: stable, the right share, independent of the split.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <xxhash.h>

#include "waymark/outcomes/holdout.hpp"

using namespace waymark::outcomes;

namespace {

constexpr int kIds = 20000;

std::string id(int i) { return "user-" + std::to_string(i); }

// Binomial bound: |count - n p| <= 5 standard deviations sqrt(n p (1 - p)).
void expect_share(int count, int n, double p, const char* what) {
  const double sd = std::sqrt(n * p * (1 - p));
  EXPECT_LE(std::fabs(count - n * p), 5 * sd) << what << ": " << count << " of " << n << ", expected " << n * p;
}

// The split-variant pick of src/journey/engine.cpp (choose_variant): XXH64,
// seed 0, over customer 0x1f journey 0x1f step, modulo the total weight.
// Weights 50/50: total 100, the first variant when the pick is below 50.
bool first_variant(const std::string& customer, const std::string& journey, const std::string& step) {
  const std::string seed = customer + '\x1f' + journey + '\x1f' + step;
  return XXH64(seed.data(), seed.size(), 0) % 100 < 50;
}

}  // namespace

TEST(Holdout, BucketIsStableAndInRange) {
  for (int i = 0; i < 1000; ++i) {
    const uint32_t b = holdout_bucket(id(i), "onboarding");
    EXPECT_LT(b, kHoldoutBuckets);
    EXPECT_EQ(b, holdout_bucket(id(i), "onboarding"));
  }
}

TEST(Holdout, ZeroPercentHoldsNobodyOut) {
  for (int i = 0; i < 1000; ++i)
    EXPECT_FALSE(held_out(id(i), "onboarding", 0));
}

TEST(Holdout, ShareIsCloseToThePercent) {
  for (double percent : {1.0, 20.0, 50.0}) {
    int held = 0;
    for (int i = 0; i < kIds; ++i)
      held += held_out(id(i), "onboarding", percent);
    expect_share(held, kIds, percent / 100, "held out");
  }
}

TEST(Holdout, ALargerPercentKeepsEveryoneAlreadyHeldOut) {
  for (int i = 0; i < kIds; ++i) {
    if (held_out(id(i), "onboarding", 10)) {
      EXPECT_TRUE(held_out(id(i), "onboarding", 20)) << id(i);
    }
  }
}

TEST(Holdout, IsIndependentOfTheSplitVariant) {
  // 20 % holdout x 50/50 split: each of the four cells holds its product share.
  int cells[2][2] = {{0, 0}, {0, 0}};
  for (int i = 0; i < kIds; ++i)
    ++cells[held_out(id(i), "onboarding", 20)][first_variant(id(i), "onboarding", "split")];
  expect_share(cells[1][1], kIds, 0.2 * 0.5, "held out, first variant");
  expect_share(cells[1][0], kIds, 0.2 * 0.5, "held out, second variant");
  expect_share(cells[0][1], kIds, 0.8 * 0.5, "treated, first variant");
  expect_share(cells[0][0], kIds, 0.8 * 0.5, "treated, second variant");
}

TEST(Holdout, IsIndependentAcrossJourneys) {
  // 20 % in each of two journeys: held out of both about 4 % of the time.
  int both = 0;
  for (int i = 0; i < kIds; ++i)
    both += held_out(id(i), "onboarding", 20) && held_out(id(i), "winback", 20);
  expect_share(both, kIds, 0.2 * 0.2, "held out of both");
}
