// Wires a node together (the one place that knows every actor): store,
// catalog (+ journeys_dir), actor system, managers, timer service, channel
// gateways, TCP gateway, HTTP API; writes <data_dir>/ready.json when every
// listener is bound; runs until SIGINT/SIGTERM.
#pragma once

#include <optional>
#include <string>

namespace waymark {

struct ServeOptions {
  std::string config_path = "config/waymark.json";
  bool config_given = false;
  std::optional<std::string> data_dir, clock, log_level;
};

/// Runs `waymark serve`. Returns the process exit status.
int serve_node(const ServeOptions& opts);

}  // namespace waymark
