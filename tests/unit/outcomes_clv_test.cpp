// Lifetime value: BG/NBD and Gamma-Gamma against independently computed
// figures, and fits that recover the parameters synthetic customers were
// drawn from.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "waymark/outcomes/clv.hpp"
#include "waymark/outcomes/clv_report.hpp"

using namespace waymark;
using namespace waymark::outcomes;

namespace {

// Fader, Hardie & Lee (2005), CDNOW sample, time in weeks.
const BgNbdParams kCdnow{0.243, 4.414, 0.793, 2.426};
// Fader & Hardie (2013), CDNOW spend.
const GammaGammaParams kCdnowSpend{6.25, 3.74, 15.44};

CustomerSummary summary(int64_t x, double t_x, double T, double m = 0) { return CustomerSummary{x, t_x, T, m}; }

}  // namespace

TEST(Clv, SummarizesAPurchaseHistoryInDays) {
  // Purchases on days 0 (10), 3 (20), 10 (40), and day 40 (after `now`, day
  // 30): x = 2 repeats, t_x = 10, T = 30, m = (20 + 40) / 2 = 30.
  constexpr Millis day = 24LL * 3600 * 1000, start = 1'790'000'000'000;
  const std::vector<Conversion> ps = {{"u", "Order", 40, start + 10 * day},
                                      {"u", "Order", 10, start},
                                      {"u", "Order", 99, start + 40 * day},
                                      {"u", "Order", 20, start + 3 * day}};
  auto s = summarize_purchases(ps, start + 30 * day);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->x, 2);
  EXPECT_DOUBLE_EQ(s->t_x, 10);
  EXPECT_DOUBLE_EQ(s->T, 30);
  EXPECT_DOUBLE_EQ(s->m, 30);
  EXPECT_EQ(summarize_purchases(ps, start - 1).error().code, "no_purchase");
}

TEST(Clv, BgNbdLogLikelihoodMatchesAnIndependentComputation) {
  // Reference: python3 + mpmath at 40 digits, straight from FHL (2005):
  //   A = lnΓ(r+x) − lnΓ(r) + r ln α + lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
  //   LL = A + ln((α+T)^−(r+x) + [x>0] a/(b+x−1) (α+t_x)^−(r+x))
  // at the CDNOW parameters (no log-sum-exp there: mpmath does not underflow).
  const std::vector<std::pair<CustomerSummary, double>> want = {
      {summary(0, 0, 38.86), -0.55471327643815845},  {summary(2, 30.43, 38.86), -9.4586063070662712},
      {summary(1, 1.71, 38.86), -4.4690932750325885}, {summary(5, 29.86, 38.86), -17.718690791683407},
      {summary(0, 0, 20.0), -0.41562122959037437}};
  std::vector<CustomerSummary> all;
  for (const auto& [c, ll] : want) {
    EXPECT_NEAR(bgnbd_log_likelihood(kCdnow, c), ll, 1e-11) << c.x << " " << c.t_x;
    all.push_back(c);
  }
  EXPECT_NEAR(bgnbd_log_likelihood(kCdnow, all), -32.616724879810799, 1e-10);
}

TEST(Clv, BgNbdLogLikelihoodDoesNotUnderflowForManyPurchases) {
  // x = 300: (α+T)^−(r+x) = e^−1131 underflows a double; mpmath gives 337.43242297112230.
  EXPECT_NEAR(bgnbd_log_likelihood(kCdnow, summary(300, 30.0, 38.86)), 337.4324229711223, 1e-8);
}

TEST(Clv, GammaGammaLogLikelihoodAndExpectedSpend) {
  // mpmath, Fader & Hardie (2013):
  //   lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ+mx)
  EXPECT_NEAR(gamma_gamma_log_likelihood(kCdnowSpend, summary(2, 1, 2, 35.0)), -4.0958173146489802, 1e-11);
  EXPECT_NEAR(gamma_gamma_log_likelihood(kCdnowSpend, summary(5, 1, 2, 20.5)), -3.4527225789790552, 1e-11);
  EXPECT_NEAR(gamma_gamma_log_likelihood(kCdnowSpend, summary(1, 1, 2, 100.0)), -6.9419362420702342, 1e-11);
  // E[spend] = p (γ + m x) / (p x + q − 1): x = 2, m = 35:
  // 6.25 · (15.44 + 70) / (12.5 + 2.74) = 534 / 15.24 = 35.0393700787.
  EXPECT_NEAR(expected_spend(kCdnowSpend, summary(2, 1, 2, 35.0)), 35.039370078740156, 1e-10);
  // x = 0: the population mean p γ / (q − 1) = 96.5 / 2.74 = 35.2189781022.
  EXPECT_NEAR(expected_spend(kCdnowSpend, summary(0, 0, 2)), 35.21897810218978, 1e-10);
}

TEST(Clv, ExpectedPurchasesMatchThePublishedExample) {
  // FHL (2005), CDNOW: a customer with x = 2, t_x = 30.43, T = 38.86 weeks is
  // expected to make 1.226 purchases in the next 39 weeks. More digits and
  // other customers: python3 + mpmath (mp.hyp2f1, 30 digits) on the formula
  // as published (not Euler-transformed as in the code).
  auto e = expected_purchases(kCdnow, summary(2, 30.43, 38.86), 39);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_NEAR(*e, 1.226, 0.0005);
  EXPECT_NEAR(*e, 1.22602817476714, 1e-10);
  EXPECT_NEAR(*expected_purchases(kCdnow, summary(0, 0, 38.86), 39), 0.195098052011263, 1e-11);
  EXPECT_NEAR(*expected_purchases(kCdnow, summary(7, 35.0, 38.86), 39), 4.38748785448796, 1e-9);
  EXPECT_NEAR(*expected_purchases(kCdnow, summary(60, 38.0, 38.86), 100), 79.3093886677814, 1e-7);
  // a + b − 1 − r < 0 and a > 1:
  EXPECT_NEAR(*expected_purchases({2.0, 3.0, 1.5, 0.8}, summary(3, 10, 20), 52), 0.400074813101816, 1e-11);
}

TEST(Clv, PredictedValueIsPurchasesTimesSpend) {
  // 1.22602817476714 purchases × 35.039370078740156 per purchase = 42.9592564.
  auto v = predicted_value({kCdnow, kCdnowSpend}, summary(2, 30.43, 38.86, 35.0), 39);
  ASSERT_TRUE(v.ok());
  EXPECT_NEAR(*v, 1.22602817476714 * 35.039370078740156, 1e-8);
}

TEST(Clv, FitRefusesTooFewRepeatBuyersAndBadSummaries) {
  std::vector<CustomerSummary> cs(100, summary(0, 0, 30));
  for (size_t i = 0; i + 1 < kRepeatBuyersMin; ++i)
    cs.push_back(summary(2, 10, 30, 25));
  EXPECT_EQ(fit_bgnbd(cs).error().code, "too_few_repeat_buyers");
  EXPECT_EQ(fit_clv(cs).error().code, "too_few_repeat_buyers");
  cs.push_back(summary(3, 12, 30, 0));  // a repeat buyer, but no spend
  EXPECT_TRUE(fit_bgnbd(cs).ok());
  EXPECT_EQ(fit_gamma_gamma(cs).error().code, "too_few_repeat_buyers");
  cs.push_back(summary(1, 40, 30, 5));  // t_x after T
  EXPECT_EQ(fit_bgnbd(cs).error().code, "bad_summary");
}

namespace {

// Draws customers from BG/NBD (λ ~ Gamma(r, rate α), p ~ Beta(a, b); Poisson
// purchases at rate λ after the first at time 0; after each repeat purchase
// the customer drops out with probability p) observed for T ~ U[180, 365]
// days, and spend from Gamma-Gamma (ν ~ Gamma(q, rate γ), each repeat value ~
// Gamma(p, rate ν)). libstdc++'s distributions (Debian 12), fixed seed.
std::vector<CustomerSummary> simulate(const ClvParams& truth, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> lambda_of(truth.purchases.r, 1 / truth.purchases.alpha);
  std::gamma_distribution<double> beta_a(truth.purchases.a, 1), beta_b(truth.purchases.b, 1);
  std::gamma_distribution<double> nu_of(truth.spend.q, 1 / truth.spend.gamma);
  std::uniform_real_distribution<double> age(180, 365), unit(0, 1);
  std::vector<CustomerSummary> out;
  for (size_t i = 0; i < n; ++i) {
    const double lambda = lambda_of(rng), ga = beta_a(rng), p = ga / (ga + beta_b(rng));
    std::exponential_distribution<double> gap(lambda);
    std::gamma_distribution<double> value(truth.spend.p, 1 / nu_of(rng));
    CustomerSummary c;
    c.T = age(rng);
    double spent = 0;
    for (double t = gap(rng); t <= c.T; t += gap(rng)) {
      ++c.x;
      c.t_x = t;
      spent += value(rng);
      if (unit(rng) < p)
        break;
    }
    c.m = c.x > 0 ? spent / double(c.x) : 0;
    out.push_back(c);
  }
  return out;
}

void expect_within(double got, double want, double tolerance, const char* name) {
  EXPECT_LE(std::fabs(got / want - 1), tolerance) << name << ": fitted " << got << ", drawn from " << want;
}

}  // namespace

TEST(Clv, FitRecoversTheParametersSyntheticCustomersWereDrawnFrom) {
  // Tolerance with 10,000 customers: ±15 % on the BG/NBD parameters, ±25 % on
  // the Gamma-Gamma ones (p and γ trade off against each other: only their
  // ratio is pinned down well). Seeds 1-12 gave at worst r −3 %, α −3 %,
  // a −7 %, b −10 %, p −12 %, q +4 %, γ +19 %.
  const ClvParams truth{{0.8, 10.0, 0.8, 4.0}, {6.0, 4.0, 15.0}};
  const uint64_t seed = 20261206;
  const auto cs = simulate(truth, 10000, seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  auto fit = fit_clv(cs);
  ASSERT_TRUE(fit.ok()) << fit.error().message;
  expect_within(fit->purchases.r, truth.purchases.r, 0.15, "r");
  expect_within(fit->purchases.alpha, truth.purchases.alpha, 0.15, "alpha");
  expect_within(fit->purchases.a, truth.purchases.a, 0.15, "a");
  expect_within(fit->purchases.b, truth.purchases.b, 0.15, "b");
  expect_within(fit->spend.p, truth.spend.p, 0.25, "p");
  expect_within(fit->spend.q, truth.spend.q, 0.25, "q");
  expect_within(fit->spend.gamma, truth.spend.gamma, 0.25, "gamma");
  std::printf("fitted r=%.4f alpha=%.4f a=%.4f b=%.4f p=%.4f q=%.4f gamma=%.4f\n", fit->purchases.r,
              fit->purchases.alpha, fit->purchases.a, fit->purchases.b, fit->spend.p, fit->spend.q, fit->spend.gamma);
}

namespace {

Touch clv_touch(const std::string& customer, const std::string& journey, const std::string& variant) {
  return Touch{customer + journey + variant, customer, "email", journey, 1, "s", "t", variant, 0};
}

}  // namespace

TEST(ClvByJourney, SumsPerJourneyAndVariantAndMergesAMembersSumsSentAsJson) {
  // Worked by hand: c1 (predicted 10) was touched twice in j1 under "s:a" and
  // once in j2; c2 (4) once in j1 under "s:b". On another member, c3 (2.5) in j1 "s:a".
  ClvByJourney mine, member2;
  mine.add({clv_touch("c1", "j1", "s:a"), clv_touch("c1", "j1", "s:a"), clv_touch("c1", "j2", "")}, 10);
  mine.add({clv_touch("c2", "j1", "s:b")}, 4);
  member2.add({clv_touch("c3", "j1", "s:a")}, 2.5);
  ASSERT_TRUE(mine.merge_json(boost::json::parse(boost::json::serialize(member2.to_json()))));
  auto expected = boost::json::parse(R"([
    {"journey":"j1","customers":3,"predicted":16.5,"variants":[
      {"variant":"s:a","customers":2,"predicted":12.5},{"variant":"s:b","customers":1,"predicted":4.0}]},
    {"journey":"j2","customers":1,"predicted":10.0,"variants":[]}])");
  EXPECT_EQ(boost::json::value(mine.to_json()), expected) << boost::json::serialize(mine.to_json());
  for (const char* bad : {R"({})", R"([{"journey":"j9","customers":1,"predicted":1}])",
                          R"([{"journey":"j9","customers":"1","predicted":1,"variants":[]}])",
                          R"([{"journey":"j9","customers":1,"predicted":1,"variants":[{"variant":"x"}]}])"})
    EXPECT_FALSE(mine.merge_json(boost::json::parse(bad))) << bad;
  EXPECT_EQ(boost::json::value(mine.to_json()), expected) << "a bad part adds nothing";
}
