// The arms a journey's definitions name (PRODUCT.md §10 results): shared by
// GET /api/journeys/{id}/results (actors/http_outcomes.cpp) and `waymark
// simulate` (src/simulate/tally.cpp), so both shape results the same way.
#pragma once

#include "waymark/engine.hpp"
#include "waymark/outcomes/results.hpp"

namespace waymark {

/// A holdout in any of the versions asked for (0 = all), and every split
/// step's variants, newest version first.
outcomes::ResultsShape results_shape(const JourneyEntry& entry, int version = 0);

}  // namespace waymark
