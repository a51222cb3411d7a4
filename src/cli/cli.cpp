// Command-line parsing and dispatch (PRODUCT.md §2).
#include "cli/cli.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/ops.hpp"
#include "cli/send.hpp"
#include "cli/simulate.hpp"

namespace waymark::cli {
namespace {

struct SendArgs {
  std::string file = "-";
  std::string host = "127.0.0.1";
  int port = 7400;
  std::string write_key;
  size_t window = 65536;
};

// --url, --token, --config (and --json where `json` is set) on a client command.
void add_client_options(CLI::App* cmd, ClientArgs& args, std::string& url, std::string& token,
                        std::string& config, bool json) {
  cmd->add_option("--url", url, "HTTP API of a node (default http://127.0.0.1:7480 or --config's http.listen)");
  cmd->add_option("--token", token, "admin bearer token")->envname("WAYMARK_TOKEN");
  cmd->add_option("--config", config, "node config file: its http.listen and first admin token");
  if (json) cmd->add_flag("--json", args.json, "print the raw JSON response");
}

void finish_client_options(CLI::App* cmd, ClientArgs& args, const std::string& url,
                           const std::string& token, const std::string& config) {
  if (cmd->count("--url")) args.url = url;
  if (!token.empty()) args.token = token;
  if (cmd->count("--config")) args.config_path = config;
}

int run_send(const SendArgs& a) {
  SendOptions o;
  o.host = a.host;
  o.port = static_cast<uint16_t>(a.port);
  if (!a.write_key.empty()) o.write_key = a.write_key;
  o.unacked_max = a.window;
  std::ifstream file;
  std::istream* in = &std::cin;
  if (a.file != "-") {
    file.open(a.file, std::ios::binary);
    if (!file) {
      std::cerr << "send: cannot read " << a.file << "\n";
      return 1;
    }
    in = &file;
    std::error_code ec;
    auto size = std::filesystem::file_size(a.file, ec);
    if (!ec) o.input_bytes_total = size;
  } else {
    std::ios::sync_with_stdio(false);
  }
  auto summary = send_events(*in, o, isatty(STDERR_FILENO) ? &std::cerr : nullptr);
  if (!summary.ok()) {
    std::cerr << "send: " << summary.error().message << "\n";
    return 1;
  }
  std::cout << format_summary(*summary) << std::flush;
  if (summary->fatal) std::cerr << "send: the server ended the connection: " << *summary->fatal << "\n";
  if (summary->connection_error) std::cerr << "send: " << *summary->connection_error << "\n";
  return summary->ok() ? 0 : 1;
}

int run(int argc, char** argv, const std::function<int(const ServeArgs&)>& serve) {
  CLI::App app{"Waymark: customer-journey orchestration engine", "waymark"};
  app.require_subcommand(1);

  ServeArgs serve_args;
  std::string data_dir, clock, log_level;
  auto* serve_cmd = app.add_subcommand("serve", "run a node");
  serve_cmd->add_option("--config", serve_args.config_path, "config file (default config/waymark.json)");
  serve_cmd->add_option("--data", data_dir, "data directory (overrides data_dir)");
  serve_cmd->add_option("--clock", clock, "system or manual")->check(CLI::IsMember({"system", "manual"}));
  serve_cmd->add_option("--log-level", log_level, "trace debug info warn error critical off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  SendArgs send_args;
  auto* send_cmd = app.add_subcommand("send", "stream NDJSON events to the TCP gateway and wait for acks");
  send_cmd->add_option("file", send_args.file, "NDJSON file, or - for stdin (default)");
  send_cmd->add_option("--host", send_args.host, "gateway host (default 127.0.0.1)");
  send_cmd->add_option("--port", send_args.port, "gateway port (default 7400)")->check(CLI::Range(1, 65535));
  send_cmd->add_option("--write-key", send_args.write_key, "write key: sent in a hello line first");
  send_cmd->add_option("--window", send_args.window, "lines in flight before waiting for acks (default 65536)")
      ->check(CLI::Range(size_t{1}, size_t{65536}));

  ClientArgs deploy_args, list_args, journey_args, customer_args, cluster_args, attribution_args;
  std::string url[6], token[6], config[6];
  std::string deploy_file, journey_id, customer_id;
  auto* deploy_cmd = app.add_subcommand("deploy", "deploy a journey or a template (JSON file)");
  deploy_cmd->add_option("file", deploy_file, "journey or template JSON")->required();
  add_client_options(deploy_cmd, deploy_args, url[0], token[0], config[0], false);
  auto* journeys_cmd = app.add_subcommand("journeys", "list journeys");
  add_client_options(journeys_cmd, list_args, url[1], token[1], config[1], true);
  auto* journey_cmd = app.add_subcommand("journey", "show a journey with per-step stats");
  journey_cmd->add_option("id", journey_id, "journey id")->required();
  add_client_options(journey_cmd, journey_args, url[2], token[2], config[2], true);
  bool journey_results = false;
  int results_version = 0;
  journey_cmd->add_flag("--results", journey_results, "experiment results per arm (holdout, split variants)");
  journey_cmd->add_option("--version", results_version, "with --results: one version (default all)")
      ->check(CLI::Range(1, 1 << 30));
  AttributionArgs attribution;
  auto* attribution_cmd = app.add_subcommand("attribution", "credit conversions to journeys, channels, steps or templates");
  attribution_cmd->add_option("--model", attribution.model, "first last linear time_decay position markov")->required();
  attribution_cmd->add_option("--by", attribution.by, "journey channel step template (default channel)");
  attribution_cmd->add_option("--from", attribution.from, "RFC 3339: conversions at or after")->required();
  attribution_cmd->add_option("--to", attribution.to, "RFC 3339: conversions before")->required();
  attribution_cmd->add_option("--lookback", attribution.lookback, "duration, e.g. 30d (default 30d)");
  attribution_cmd->add_option("--half-life", attribution.half_life, "time_decay: duration (default 7d)");
  add_client_options(attribution_cmd, attribution_args, url[5], token[5], config[5], true);
  auto* cluster_cmd = app.add_subcommand("cluster", "show the cluster's members, up or down, and their partitions");
  add_client_options(cluster_cmd, cluster_args, url[4], token[4], config[4], true);
  auto* customer_cmd = app.add_subcommand("customer", "show a customer: profile, instances, history, deliveries, trace");
  customer_cmd->add_option("id", customer_id, "customer id")->required();
  add_client_options(customer_cmd, customer_args, url[3], token[3], config[3], true);

  auto ops = add_ops_commands(app);

  std::string validate_file, validate_config;
  auto* validate_cmd = app.add_subcommand("validate", "validate a journey or template offline");
  validate_cmd->add_option("file", validate_file, "journey or template JSON")->required();
  validate_cmd->add_option("--config", validate_config, "config file: channels and journeys_dir");

  SimulateArgs sim_args;
  std::string sim_compare, sim_start, sim_until, sim_config;
  auto* simulate_cmd = app.add_subcommand("simulate", "offline replay on a virtual clock: deliveries and counts");
  simulate_cmd->add_option("--journeys", sim_args.journeys, "folder of journeys and templates (journeys_dir layout)")
      ->required();
  simulate_cmd->add_option("--events", sim_args.events, "NDJSON events file, or - for stdin")->required();
  simulate_cmd->add_option("--start", sim_start, "virtual clock start, RFC 3339 (default: the first event's time)");
  simulate_cmd->add_option("--until", sim_until, "the clock stops here, RFC 3339 (default: start + 1 year)");
  simulate_cmd->add_option("--compare", sim_compare, "second folder: the same events through it, side by side");
  simulate_cmd->add_option("--config", sim_config, "config file: channels (caps, quiet hours) and limits");
  simulate_cmd->add_flag("--json", sim_args.json, "JSON lines (implied when stdout is not a terminal)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (*serve_cmd) {
    serve_args.config_given = serve_cmd->count("--config") > 0;
    if (serve_cmd->count("--data")) serve_args.data_dir = data_dir;
    if (serve_cmd->count("--clock")) serve_args.clock = clock;
    if (serve_cmd->count("--log-level")) serve_args.log_level = log_level;
    return serve(serve_args);
  }
  if (*send_cmd) return run_send(send_args);
  if (*deploy_cmd) {
    finish_client_options(deploy_cmd, deploy_args, url[0], token[0], config[0]);
    return cmd_deploy(deploy_args, deploy_file);
  }
  if (*journeys_cmd) {
    finish_client_options(journeys_cmd, list_args, url[1], token[1], config[1]);
    return cmd_journeys(list_args);
  }
  if (*journey_cmd) {
    finish_client_options(journey_cmd, journey_args, url[2], token[2], config[2]);
    if (journey_results) return cmd_journey_results(journey_args, journey_id, results_version);
    return cmd_journey(journey_args, journey_id);
  }
  if (*attribution_cmd) {
    finish_client_options(attribution_cmd, attribution_args, url[5], token[5], config[5]);
    return cmd_attribution(attribution_args, attribution);
  }
  if (*cluster_cmd) {
    finish_client_options(cluster_cmd, cluster_args, url[4], token[4], config[4]);
    return cmd_cluster(cluster_args);
  }
  if (*customer_cmd) {
    finish_client_options(customer_cmd, customer_args, url[3], token[3], config[3]);
    return cmd_customer(customer_args, customer_id);
  }
  if (auto status = run_ops_commands(*ops)) return *status;
  if (*validate_cmd) {
    std::optional<std::string> cfg;
    if (validate_cmd->count("--config")) cfg = validate_config;
    return cmd_validate(validate_file, cfg);
  }
  if (*simulate_cmd) {
    if (simulate_cmd->count("--compare")) sim_args.compare = sim_compare;
    if (simulate_cmd->count("--start")) sim_args.start = sim_start;
    if (simulate_cmd->count("--until")) sim_args.until = sim_until;
    if (simulate_cmd->count("--config")) sim_args.config = sim_config;
    return cmd_simulate(sim_args);
  }
  return 2;
}

}  // namespace

int run_cli(int argc, char** argv, const std::function<int(const ServeArgs&)>& serve) {
  try {
    return run(argc, argv, serve);
  } catch (const std::exception& e) {
    std::cerr << "waymark: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace waymark::cli
