// Experiment results (PRODUCT.md §10): per-arm rates and the uplift of an
// arm against a control (the holdout, or a split's first variant).
#pragma once

#include <cstdint>
#include <string>

#include "waymark/result.hpp"

namespace waymark::outcomes {

/// What was counted for one arm ("all", "treated", "holdout", "<step>:<variant>").
struct ArmCounts {
  std::string arm;
  int64_t entered = 0;
  int64_t converted = 0;  // entrants that converted; 0 <= converted <= entered
  double value = 0;       // total value of their conversions
};

struct ArmSummary {
  std::string arm;
  int64_t entered = 0;
  int64_t converted = 0;
  double rate = 0;               // converted / entered; 0 when nobody entered
  double value = 0;
  double value_per_entrant = 0;  // value / entered; 0 when nobody entered
};

/// The arm's rate minus the control's, as fractions.
struct Uplift {
  double diff = 0;
  double ci_lo = 0;  // 95 % interval: diff -/+ z * unpooled standard error
  double ci_hi = 0;
  double p = 1;      // two-sided, pooled two-proportion z-test
};

/// z for a two-sided 95 % interval (the 0.975 quantile of the standard normal).
constexpr double kZ95 = 1.959963984540054;

/// Rate and value per entrant of one arm.
ArmSummary summarize(const ArmCounts& arm);

/// Uplift of `arm` over `control`, normal approximation.
/// Edge cases: when both rates are 0 or both 1 (pooled standard error 0) the
/// difference is 0 and p = 1; when the unpooled standard error is 0 (each rate
/// is 0 or 1) the interval is [diff, diff] and p still comes from the pooled
/// test (e.g. 10/10 against 0/10: diff 1, interval [1, 1], p = 7.7e-6).
/// Errors: "no_entrants" when either arm has nobody; "bad_counts" when a count
/// is negative or converted > entered.
Result<Uplift> compare(const ArmCounts& arm, const ArmCounts& control);

/// The standard normal's two-sided tail P(|Z| >= |z|) = erfc(|z| / sqrt 2).
double two_sided_p(double z);

}  // namespace waymark::outcomes
