// Experiment statistics: two-proportion normal approximation.
#include <cmath>

#include "waymark/outcomes/experiment.hpp"

namespace waymark::outcomes {
namespace {

bool valid(const ArmCounts& a) { return a.entered >= 0 && a.converted >= 0 && a.converted <= a.entered; }

double rate(const ArmCounts& a) { return a.entered > 0 ? double(a.converted) / double(a.entered) : 0.0; }

}  // namespace

ArmSummary summarize(const ArmCounts& arm) {
  ArmSummary s;
  s.arm = arm.arm;
  s.entered = arm.entered;
  s.converted = arm.converted;
  s.rate = rate(arm);
  s.value = arm.value;
  s.value_per_entrant = arm.entered > 0 ? arm.value / double(arm.entered) : 0.0;
  return s;
}

double two_sided_p(double z) { return std::erfc(std::fabs(z) / std::sqrt(2.0)); }

Result<Uplift> compare(const ArmCounts& arm, const ArmCounts& control) {
  if (!valid(arm) || !valid(control))
    return make_error("bad_counts", "counts must be non-negative with converted <= entered");
  if (arm.entered == 0 || control.entered == 0)
    return make_error("no_entrants", "an arm with no entrants cannot be compared");
  const double n1 = double(arm.entered), n0 = double(control.entered);
  const double p1 = rate(arm), p0 = rate(control);
  Uplift u;
  u.diff = p1 - p0;
  const double se = std::sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0);
  u.ci_lo = u.diff - kZ95 * se;
  u.ci_hi = u.diff + kZ95 * se;
  const double pooled = double(arm.converted + control.converted) / (n1 + n0);
  const double se_pooled = std::sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0));
  if (se_pooled == 0)
    u.p = 1;  // both rates 0 or both 1: no difference
  else
    u.p = two_sided_p(u.diff / se_pooled);
  return u;
}

}  // namespace waymark::outcomes
