// A journey's experiment results (PRODUCT.md §10, GET /api/journeys/{id}/results):
// per arm entered, converted, rate, value, value per entrant and uplift.
// Pure: built from stored counters; the counters of several nodes are simply
// concatenated (summed here).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "waymark/outcomes/experiment.hpp"

namespace waymark::outcomes {

/// One stored counter: (version, arm, counter) of one node. Counters:
/// "entered", "converted", "value_micros" (value in millionths, to_micros).
struct ArmCounter {
  int version = 0;
  std::string arm;      // "treated", "holdout", "<split step>:<variant>"
  std::string counter;
  int64_t n = 0;
};

/// What the definition says the arms are.
struct ResultsShape {
  bool holdout = false;  // some version of the journey has a holdout
  /// Split steps and their variants, in definition order (latest version first seen).
  std::vector<std::pair<std::string, std::vector<std::string>>> splits;
};

/// Sums the counters of `version` (0 = every version) per arm. Arms: "all"
/// (treated + holdout), "treated", "holdout" (when shape.holdout or counted),
/// then each split variant of `shape` (zeros included), then any other
/// counted arm, sorted.
std::vector<ArmCounts> sum_arms(const std::vector<ArmCounter>& counters, int version, const ResultsShape& shape);

/// {"arm","entered","converted","rate","value","value_per_entrant","uplift"}
/// per arm. Uplift: "treated" and every variant against the holdout when the
/// journey has one, else a variant against its split's first variant; null
/// for "all", "holdout", a split's first variant without a holdout, and when
/// either side has no entrant. Uplift = {"vs","diff","ci":[lo,hi],"p"}.
boost::json::array arms_json(const std::vector<ArmCounts>& arms, const ResultsShape& shape);

}  // namespace waymark::outcomes
