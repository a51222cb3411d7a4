// `waymark approve ID V` and `waymark audit` (PRODUCT.md §11): the operations
// commands, registered on the CLI app and run after parsing.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>

namespace waymark::cli {

struct OpsCommands;
struct OpsCommandsDeleter {
  void operator()(OpsCommands* p) const;
};
using OpsCommandsPtr = std::unique_ptr<OpsCommands, OpsCommandsDeleter>;

/// Adds the subcommands and their options to `app`.
OpsCommandsPtr add_ops_commands(CLI::App& app);
/// After parsing: the exit status of the ops command that was given, nullopt when none was.
std::optional<int> run_ops_commands(OpsCommands& ops);

}  // namespace waymark::cli
