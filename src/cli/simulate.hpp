// `waymark simulate` (PRODUCT.md §2, §11): offline replay on a virtual clock.
#pragma once

#include <optional>
#include <string>

namespace waymark::cli {

struct SimulateArgs {
  std::string journeys;                 // --journeys DIR (journeys_dir layout)
  std::string events;                   // --events FILE (NDJSON; - for stdin)
  std::optional<std::string> compare;   // --compare DIR2
  std::optional<std::string> start;     // --start T (RFC 3339)
  std::optional<std::string> until;     // --until T (RFC 3339)
  std::optional<std::string> config;    // --config FILE: channels (caps, quiet hours) and limits
  bool json = false;                    // --json (implied when stdout is not a terminal)
};

/// Exit 0 ok; 1 the events file is unreadable or has invalid lines (reported
/// on stderr; the rest is still simulated and printed); 2 bad usage: an
/// invalid journey folder (every error with its path), config or time.
int cmd_simulate(const SimulateArgs& args);

}  // namespace waymark::cli
