// Maximum-likelihood fits of BG/NBD and Gamma-Gamma: Nelder-Mead (NLopt)
// over log-parameters, from a few starts, each restarted until it settles.
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>

#include <nlopt.h>

#include "waymark/outcomes/clv.hpp"

namespace waymark::outcomes {
namespace {

using Objective = std::function<double(const std::vector<double>&)>;  // minimised

struct Minimum {
  std::vector<double> at;
  double value = 0;
};

double call_objective(unsigned n, const double* x, double* /*gradient*/, void* data) {
  const double v = (*static_cast<const Objective*>(data))(std::vector<double>(x, x + n));
  return std::isfinite(v) ? v : 1e300;  // outside the model's domain: uphill
}

// One simplex run from `start`; log-parameters stay in [-15, 15].
std::optional<Minimum> nelder_mead(const Objective& f, std::vector<double> start) {
  const unsigned n = unsigned(start.size());
  std::unique_ptr<nlopt_opt_s, decltype(&nlopt_destroy)> opt(nlopt_create(NLOPT_LN_NELDERMEAD, n), nlopt_destroy);
  if (!opt)
    return std::nullopt;
  const std::vector<double> lo(n, -15.0), hi(n, 15.0);
  nlopt_set_lower_bounds(opt.get(), lo.data());
  nlopt_set_upper_bounds(opt.get(), hi.data());
  nlopt_set_min_objective(opt.get(), call_objective, const_cast<Objective*>(&f));
  nlopt_set_initial_step1(opt.get(), 0.5);
  nlopt_set_xtol_abs1(opt.get(), 1e-7);
  nlopt_set_maxeval(opt.get(), 4000);
  Minimum m;
  const nlopt_result rc = nlopt_optimize(opt.get(), start.data(), &m.value);
  if (rc < 0 && rc != NLOPT_ROUNDOFF_LIMITED)
    return std::nullopt;
  m.at = std::move(start);
  return m;
}

// The best minimum over the starts; a simplex can stall, so each run is
// restarted from where it ended until it gains less than 1e-9 (at most 5 times).
Result<std::vector<double>> minimize(const Objective& f, const std::vector<std::vector<double>>& starts) {
  std::optional<Minimum> best;
  for (const auto& start : starts) {
    auto run = nelder_mead(f, start);
    for (int restart = 0; run && restart < 5; ++restart) {
      auto again = nelder_mead(f, run->at);
      const bool gained = again && again->value < run->value - 1e-9;
      if (again && again->value <= run->value)
        run = std::move(again);
      if (!gained)
        break;
    }
    if (run && (!best || run->value < best->value))
      best = std::move(run);
  }
  if (!best || best->value >= 1e300)
    return make_error("fit_failed", "the likelihood could not be maximised");
  return best->at;
}

bool well_formed(const CustomerSummary& c) {
  const bool finite = std::isfinite(c.t_x) && std::isfinite(c.T) && std::isfinite(c.m);
  return finite && c.x >= 0 && c.t_x >= 0 && c.T >= c.t_x && c.m >= 0 && (c.x > 0 || c.t_x == 0);
}

std::optional<Error> check(const std::vector<CustomerSummary>& cs, bool need_spend) {
  size_t repeat_buyers = 0;
  for (const auto& c : cs) {
    if (!well_formed(c))
      return make_error("bad_summary", "a customer summary needs x >= 0, 0 <= t_x <= T, m >= 0, t_x = 0 when x = 0");
    repeat_buyers += c.x > 0 && (!need_spend || c.m > 0);
  }
  if (repeat_buyers < kRepeatBuyersMin)
    return make_error("too_few_repeat_buyers", "a fit needs at least " + std::to_string(kRepeatBuyersMin) +
                                                   " customers with repeat purchases; got " +
                                                   std::to_string(repeat_buyers));
  return std::nullopt;
}

double mean_of(const std::vector<CustomerSummary>& cs, double CustomerSummary::*field) {
  double sum = 0;
  for (const auto& c : cs)
    sum += c.*field;
  return cs.empty() ? 1.0 : sum / double(cs.size());
}

}  // namespace

Result<BgNbdParams> fit_bgnbd(const std::vector<CustomerSummary>& cs) {
  if (auto err = check(cs, false))
    return *err;
  const Objective nll = [&](const std::vector<double>& t) {
    return -bgnbd_log_likelihood(BgNbdParams{std::exp(t[0]), std::exp(t[1]), std::exp(t[2]), std::exp(t[3])}, cs);
  };
  const double age = std::log(std::max(mean_of(cs, &CustomerSummary::T), 1e-6));
  auto theta = minimize(nll, {{0.0, age, 0.0, 0.0}, {std::log(0.3), age - 1.0, std::log(0.5), std::log(3.0)}});
  if (!theta)
    return theta.error();
  const auto& t = *theta;
  return BgNbdParams{std::exp(t[0]), std::exp(t[1]), std::exp(t[2]), std::exp(t[3])};
}

Result<GammaGammaParams> fit_gamma_gamma(const std::vector<CustomerSummary>& cs) {
  if (auto err = check(cs, true))
    return *err;
  std::vector<CustomerSummary> buyers;
  for (const auto& c : cs)
    if (c.x > 0 && c.m > 0)
      buyers.push_back(c);
  // q = 1 + e^t[1] keeps the mean spend p γ / (q − 1) finite.
  const auto params = [](const std::vector<double>& t) {
    return GammaGammaParams{std::exp(t[0]), 1 + std::exp(t[1]), std::exp(t[2])};
  };
  const Objective nll = [&](const std::vector<double>& t) {
    const GammaGammaParams g = params(t);
    double sum = 0;
    for (const auto& c : buyers)
      sum -= gamma_gamma_log_likelihood(g, c);
    return sum;
  };
  const double spend = std::log(mean_of(buyers, &CustomerSummary::m));
  auto theta = minimize(nll, {{0.0, 0.0, spend}, {std::log(5.0), std::log(3.0), spend + 1.0}});
  if (!theta)
    return theta.error();
  return params(*theta);
}

Result<ClvParams> fit_clv(const std::vector<CustomerSummary>& cs) {
  auto purchases = fit_bgnbd(cs);
  if (!purchases)
    return purchases.error();
  auto spend = fit_gamma_gamma(cs);
  if (!spend)
    return spend.error();
  return ClvParams{*purchases, *spend};
}

}  // namespace waymark::outcomes
