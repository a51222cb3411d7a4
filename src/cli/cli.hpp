// The `waymark` command line (PRODUCT.md §2), parsed with CLI11.
// Exit status: 0 ok, 1 reported error (message on stderr), 2 bad usage.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace waymark::cli {

/// What `waymark serve` was given; the app turns it into a Config.
struct ServeArgs {
  std::string config_path = "config/waymark.json";
  bool config_given = false;  // --config was passed: the file must exist
  std::optional<std::string> data_dir, clock, log_level;
};

/// Parses argv and runs the command. `serve` runs the node (it is the only
/// command that needs the actor system, so the app supplies it).
int run_cli(int argc, char** argv, const std::function<int(const ServeArgs&)>& serve);

}  // namespace waymark::cli

namespace waymark {
using cli::run_cli;
using cli::ServeArgs;
}  // namespace waymark
