// BG/NBD and Gamma-Gamma: summaries, likelihoods and conditional expectations.
#include <algorithm>
#include <cmath>
#include <map>

#include <boost/math/special_functions/hypergeometric_pFq.hpp>

#include "waymark/outcomes/clv.hpp"

namespace waymark::outcomes {
namespace {

constexpr double kMillisPerDay = 24.0 * 3600 * 1000;

// ln(e^u + e^v) without overflow or underflow.
double log_sum_exp(double u, double v) {
  const double hi = std::max(u, v);
  return hi + std::log1p(std::exp(std::min(u, v) - hi));
}

// The ln Γ terms of one customer's BG/NBD likelihood that depend only on x.
double bgnbd_gamma_terms(const BgNbdParams& p, double x) {
  return std::lgamma(p.r + x) - std::lgamma(p.r) + p.r * std::log(p.alpha) + std::lgamma(p.a + p.b) +
         std::lgamma(p.b + x) - std::lgamma(p.b) - std::lgamma(p.a + p.b + x);
}

// The term of the BG/NBD likelihood that depends on t_x and T.
double bgnbd_time_term(const BgNbdParams& p, const CustomerSummary& c) {
  const double x = double(c.x);
  const double alive = -(p.r + x) * std::log(p.alpha + c.T);
  if (c.x == 0)
    return alive;
  const double dropped = std::log(p.a) - std::log(p.b + x - 1) - (p.r + x) * std::log(p.alpha + c.t_x);
  return log_sum_exp(alive, dropped);
}

}  // namespace

Result<CustomerSummary> summarize_purchases(const std::vector<Conversion>& purchases, Millis now) {
  std::vector<const Conversion*> seen;
  for (const auto& p : purchases)
    if (p.at <= now)
      seen.push_back(&p);
  if (seen.empty())
    return make_error("no_purchase", "the customer has no purchase before the end of observation");
  std::sort(seen.begin(), seen.end(), [](const Conversion* a, const Conversion* b) { return a->at < b->at; });
  CustomerSummary s;
  s.x = int64_t(seen.size()) - 1;
  s.t_x = double(seen.back()->at - seen.front()->at) / kMillisPerDay;
  s.T = double(now - seen.front()->at) / kMillisPerDay;
  double repeat_value = 0;
  for (size_t i = 1; i < seen.size(); ++i)
    repeat_value += seen[i]->value;
  s.m = s.x > 0 ? repeat_value / double(s.x) : 0.0;
  return s;
}

double bgnbd_log_likelihood(const BgNbdParams& params, const CustomerSummary& c) {
  return bgnbd_gamma_terms(params, double(c.x)) + bgnbd_time_term(params, c);
}

double bgnbd_log_likelihood(const BgNbdParams& params, const std::vector<CustomerSummary>& cs) {
  std::map<int64_t, int64_t> customers_with;  // x -> how many customers
  double sum = 0;
  for (const auto& c : cs) {
    ++customers_with[c.x];
    sum += bgnbd_time_term(params, c);
  }
  for (const auto& [x, n] : customers_with)
    sum += double(n) * bgnbd_gamma_terms(params, double(x));
  return sum;
}

double gamma_gamma_log_likelihood(const GammaGammaParams& g, const CustomerSummary& c) {
  const double px = g.p * double(c.x);
  return std::lgamma(px + g.q) - std::lgamma(px) - std::lgamma(g.q) + g.q * std::log(g.gamma) +
         (px - 1) * std::log(c.m) + px * std::log(double(c.x)) - (px + g.q) * std::log(g.gamma + c.m * double(c.x));
}

Result<double> expected_purchases(const BgNbdParams& p, const CustomerSummary& c, double horizon) {
  const double x = double(c.x);
  const double z = horizon / (p.alpha + c.T + horizon);
  // ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z), by Euler's transformation.
  double series = 0;
  try {
    series = boost::math::hypergeometric_pFq({p.a + p.b - 1 - p.r, p.a - 1}, {p.a + p.b + x - 1}, z);
  } catch (const std::exception& e) {
    return make_error("series_failed", std::string("hypergeometric series: ") + e.what());
  }
  const double tail = std::pow(1 - z, p.a - 1) * series;
  const double alive_part = (p.a + p.b + x - 1) / (p.a - 1) * (1 - tail);
  if (c.x == 0)
    return alive_part;
  const double ratio = std::exp((p.r + x) * (std::log(p.alpha + c.T) - std::log(p.alpha + c.t_x)));
  return alive_part / (1 + p.a / (p.b + x - 1) * ratio);
}

double expected_spend(const GammaGammaParams& g, const CustomerSummary& c) {
  const double x = double(c.x);
  return g.p * (g.gamma + c.m * x) / (g.p * x + g.q - 1);
}

Result<double> predicted_value(const ClvParams& params, const CustomerSummary& c, double horizon) {
  auto purchases = expected_purchases(params.purchases, c, horizon);
  if (!purchases)
    return purchases.error();
  return *purchases * expected_spend(params.spend, c);
}

}  // namespace waymark::outcomes
