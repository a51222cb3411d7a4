// Experiment statistics against hand-worked and textbook values.
#include <gtest/gtest.h>

#include "waymark/outcomes/experiment.hpp"

using namespace waymark::outcomes;

TEST(Experiment, SummarizesRateAndValuePerEntrant) {
  // 25 of 200 converted, 500 of value: rate 0.125, 2.5 per entrant.
  const auto s = summarize({"treated", 200, 25, 500});
  EXPECT_EQ(s.arm, "treated");
  EXPECT_EQ(s.entered, 200);
  EXPECT_EQ(s.converted, 25);
  EXPECT_DOUBLE_EQ(s.rate, 0.125);
  EXPECT_DOUBLE_EQ(s.value, 500);
  EXPECT_DOUBLE_EQ(s.value_per_entrant, 2.5);
}

TEST(Experiment, AnArmWithNobodyHasZeroRates) {
  const auto s = summarize({"holdout", 0, 0, 0});
  EXPECT_EQ(s.rate, 0);
  EXPECT_EQ(s.value_per_entrant, 0);
}

TEST(Experiment, TwoSidedPMatchesTheNormalTable) {
  // Textbook quantiles: P(|Z| >= 1.959964) = 0.05, P(|Z| >= 2.575829) = 0.01.
  EXPECT_NEAR(two_sided_p(1.959963984540054), 0.05, 1e-12);
  EXPECT_NEAR(two_sided_p(-2.5758293035489004), 0.01, 1e-12);
  EXPECT_DOUBLE_EQ(two_sided_p(0), 1.0);
}

TEST(Experiment, UpliftWithIntervalAndPValue) {
  // 120/1000 = 0.12 against 100/1000 = 0.10: diff 0.02.
  // Unpooled SE = sqrt(0.12*0.88/1000 + 0.10*0.90/1000) = sqrt(0.0001956)
  //             = 0.0139857070; 1.959964 * SE = 0.0274114820;
  // interval [-0.0074114820, 0.0474114820].
  // Pooled rate 220/2000 = 0.11; SE = sqrt(0.11*0.89*(2/1000)) = 0.0139928553;
  // z = 0.02 / 0.0139928553 = 1.4293008; p = erfc(z/sqrt 2) = 0.1529178
  // (R: prop.test(c(120,100), c(1000,1000), correct=FALSE) -> X^2 = z^2 = 2.0429,
  // p-value = 0.1529).
  auto u = compare({"treated", 1000, 120, 0}, {"holdout", 1000, 100, 0});
  ASSERT_TRUE(u.ok());
  EXPECT_NEAR(u->diff, 0.02, 1e-12);
  EXPECT_NEAR(u->ci_lo, -0.0074114820, 1e-9);
  EXPECT_NEAR(u->ci_hi, 0.0474114820, 1e-9);
  EXPECT_NEAR(u->p, 0.1529178, 1e-7);
}

TEST(Experiment, EqualRatesGiveASymmetricIntervalAndPOne) {
  // 30/200 = 45/300 = 0.15: diff 0, SE = sqrt(.15*.85/200 + .15*.85/300)
  // = sqrt(0.0010625) = 0.0325960; interval +/- 0.0638870; z = 0, p = 1.
  auto u = compare({"a", 200, 30, 0}, {"b", 300, 45, 0});
  ASSERT_TRUE(u.ok());
  EXPECT_NEAR(u->diff, 0, 1e-15);
  EXPECT_NEAR(u->ci_hi, 0.0638870, 1e-7);
  EXPECT_NEAR(u->ci_lo, -0.0638870, 1e-7);
  EXPECT_NEAR(u->p, 1.0, 1e-12);
}

TEST(Experiment, RatesOfZeroOrOneHaveADegenerateInterval) {
  // 10/10 against 0/10: unpooled SE 0, interval [1, 1]; pooled 0.5,
  // SE = sqrt(0.25 * 0.2) = 0.2236068, z = 4.472136, p = 7.744216e-6.
  auto u = compare({"a", 10, 10, 0}, {"b", 10, 0, 0});
  ASSERT_TRUE(u.ok());
  EXPECT_DOUBLE_EQ(u->diff, 1);
  EXPECT_DOUBLE_EQ(u->ci_lo, 1);
  EXPECT_DOUBLE_EQ(u->ci_hi, 1);
  EXPECT_NEAR(u->p, 7.744216e-6, 1e-11);
  // Nobody converted anywhere (pooled SE 0): diff 0, interval [0, 0], p = 1.
  u = compare({"a", 10, 0, 0}, {"b", 20, 0, 0});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->diff, 0);
  EXPECT_EQ(u->ci_lo, 0);
  EXPECT_EQ(u->ci_hi, 0);
  EXPECT_EQ(u->p, 1);
  // Everybody converted everywhere: the same.
  u = compare({"a", 7, 7, 0}, {"b", 3, 3, 0});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->p, 1);
  EXPECT_EQ(u->ci_lo, 0);
}

TEST(Experiment, RefusesEmptyArmsAndImpossibleCounts) {
  EXPECT_EQ(compare({"a", 0, 0, 0}, {"b", 10, 1, 0}).error().code, "no_entrants");
  EXPECT_EQ(compare({"a", 10, 1, 0}, {"b", 0, 0, 0}).error().code, "no_entrants");
  EXPECT_EQ(compare({"a", 10, 11, 0}, {"b", 10, 1, 0}).error().code, "bad_counts");
  EXPECT_EQ(compare({"a", 10, 1, 0}, {"b", -1, 0, 0}).error().code, "bad_counts");
}
