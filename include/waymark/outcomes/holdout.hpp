// Holdout assignment (PRODUCT.md §10): a deterministic share of a journey's
// entrants is held out, by a hash of (customer, journey).
#pragma once

#include <cstdint>
#include <string_view>

namespace waymark::outcomes {

/// Buckets per customer and journey: percents resolve to 1/100 of a percent.
constexpr uint32_t kHoldoutBuckets = 10000;

/// A stable bucket in [0, kHoldoutBuckets) for (customer, journey): XXH3-64
/// with its own seed over "holdout", customer and journey joined by 0x1f, so
/// it is unrelated to the split-variant hash (XXH64, seed 0, over customer,
/// journey and step). The same on every node and build (XXH3 is stable).
uint32_t holdout_bucket(std::string_view customer, std::string_view journey);

/// True when the customer is held out of the journey at `percent` (0-50; the
/// journey validation refuses other values): bucket < percent * 100, so a
/// customer held out at P is held out at any larger P.
bool held_out(std::string_view customer, std::string_view journey, double percent);

}  // namespace waymark::outcomes
