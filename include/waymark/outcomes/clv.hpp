// Customer lifetime value (PRODUCT.md §10): the BG/NBD purchase model
// (Fader, Hardie & Lee 2005, "Counting your customers the easy way") with the
// Gamma-Gamma spend model (Fader & Hardie 2013), fitted by maximum likelihood.
//
// Time unit: whatever the summaries are in; summarize_purchases uses days, so
// alpha is then in days and horizons are in days. Pure functions; the fits
// run a derivative-free simplex (NLopt's Nelder-Mead) over log-parameters.
#pragma once

#include <cstdint>
#include <vector>

#include "waymark/outcomes/types.hpp"
#include "waymark/result.hpp"

namespace waymark::outcomes {

/// One customer's purchase history, as the models see it.
struct CustomerSummary {
  int64_t x = 0;    // repeat purchases (all purchases but the first)
  double t_x = 0;   // time of the last purchase since the first (0 when x = 0)
  double T = 0;     // age: time from the first purchase to the end of observation
  double m = 0;     // mean value of the repeat purchases (0 when x = 0)
};

/// Summarises one customer's conversions (any order; all of one customer)
/// observed until `now`, in days. Conversions after `now` are ignored; every
/// one counts as a purchase, also several at one instant. Error "no_purchase"
/// when none is at or before `now`.
Result<CustomerSummary> summarize_purchases(const std::vector<Conversion>& purchases, Millis now);

struct BgNbdParams {
  double r = 0, alpha = 0;  // purchase rate lambda ~ Gamma(shape r, rate alpha)
  double a = 0, b = 0;      // dropout probability after a purchase p ~ Beta(a, b)
};

struct GammaGammaParams {
  double p = 0;      // shape of each transaction's value
  double q = 0;      // nu ~ Gamma(shape q, rate gamma), nu the rate of the value; q > 1
  double gamma = 0;
};

struct ClvParams {
  BgNbdParams purchases;
  GammaGammaParams spend;
};

/// Repeat buyers a fit needs at least (x > 0 for BG/NBD; x > 0 and m > 0 for
/// Gamma-Gamma). A floor, not a guarantee of precision: below it a fit says
/// nothing and is refused; with few more the estimates are still rough.
constexpr size_t kRepeatBuyersMin = 10;

/// BG/NBD log-likelihood of one customer (FHL 2005):
///   ln Γ(r+x) − ln Γ(r) + r ln α + ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)
///   + ln( (α+T)^−(r+x) + [x>0] a/(b+x−1) (α+t_x)^−(r+x) ),
/// the last term by log-sum-exp (no underflow for large x). Parameters > 0.
double bgnbd_log_likelihood(const BgNbdParams& params, const CustomerSummary& c);

/// Sum over customers (the same per customer, with ln Γ terms shared by x).
double bgnbd_log_likelihood(const BgNbdParams& params, const std::vector<CustomerSummary>& cs);

/// Gamma-Gamma log-likelihood of one repeat buyer's mean spend (x > 0, m > 0):
///   ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ + m x).
double gamma_gamma_log_likelihood(const GammaGammaParams& params, const CustomerSummary& c);

/// Maximum-likelihood BG/NBD fit. Errors: "too_few_repeat_buyers" (fewer than
/// kRepeatBuyersMin customers with x > 0), "bad_summary" (negative, not finite
/// or inconsistent fields: x < 0, t_x < 0, T < t_x, m < 0, x = 0 with t_x > 0),
/// "fit_failed" (the optimiser gave up).
Result<BgNbdParams> fit_bgnbd(const std::vector<CustomerSummary>& cs);

/// Maximum-likelihood Gamma-Gamma fit over the repeat buyers with m > 0
/// (others are skipped); q is kept above 1 so the mean spend exists. Errors as
/// fit_bgnbd.
Result<GammaGammaParams> fit_gamma_gamma(const std::vector<CustomerSummary>& cs);

/// Both fits.
Result<ClvParams> fit_clv(const std::vector<CustomerSummary>& cs);

/// Expected purchases in (T, T + horizon] of a customer with this history
/// (FHL 2005):
///   (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
///   / (1 + [x>0] a/(b+x−1) ((α+T)/(α+t_x))^(r+x)),
/// evaluated in Euler's transformed form (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z)
/// for the product, which does not overflow for large x. Needs a ≠ 1.
/// Error "series_failed" when Boost's ₂F₁ series cannot reach double precision.
Result<double> expected_purchases(const BgNbdParams& params, const CustomerSummary& c, double horizon);

/// Expected value of one of the customer's future purchases (Fader & Hardie
/// 2013): p (γ + m x) / (p x + q − 1); the population mean p γ / (q − 1)
/// when x = 0.
double expected_spend(const GammaGammaParams& params, const CustomerSummary& c);

/// expected_purchases × expected_spend (errors as expected_purchases).
Result<double> predicted_value(const ClvParams& params, const CustomerSummary& c, double horizon);

}  // namespace waymark::outcomes
