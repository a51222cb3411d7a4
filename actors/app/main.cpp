// The `waymark` binary: logging set-up, then the command line (src/cli),
// with `serve` wired to the node (actors/node.cpp).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/node.hpp"
#include "cli/cli.hpp"

int main(int argc, char** argv) {
  // Logs go to stderr so `send`/`journeys` output on stdout stays clean.
  auto logger = spdlog::stderr_color_mt("waymark");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  spdlog::set_default_logger(logger);
  int rc = waymark::run_cli(argc, argv, [](const waymark::cli::ServeArgs& a) {
    waymark::ServeOptions o;
    o.config_path = a.config_path;
    o.config_given = a.config_given;
    o.data_dir = a.data_dir;
    o.clock = a.clock;
    o.log_level = a.log_level;
    return waymark::serve_node(o);
  });
  spdlog::shutdown();
  return rc;
}
