#include "waymark/journey_results.hpp"

#include <algorithm>

namespace waymark {

outcomes::ResultsShape results_shape(const JourneyEntry& entry, int version) {
  outcomes::ResultsShape shape;
  for (auto it = entry.versions.rbegin(); it != entry.versions.rend(); ++it) {
    if (!*it)
      continue;
    const Journey& j = **it;
    if (version != 0 && j.version != version)
      continue;
    shape.holdout = shape.holdout || j.holdout_percent > 0;
    for (const auto& [id, step] : j.steps) {
      if (step.type != StepType::split)
        continue;
      auto known = std::find_if(shape.splits.begin(), shape.splits.end(), [&](auto& s) { return s.first == id; });
      if (known == shape.splits.end())
        known = shape.splits.insert(shape.splits.end(), {id, {}});
      for (const auto& v : step.variants)
        if (std::find(known->second.begin(), known->second.end(), v.name) == known->second.end())
          known->second.push_back(v.name);
    }
  }
  return shape;
}

}  // namespace waymark
