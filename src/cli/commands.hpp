// The client-side commands behind run_cli (one function per command).
// Each prints its result on stdout, errors on stderr, and returns the exit status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "http/client.hpp"
#include "waymark/result.hpp"

namespace waymark::cli {

/// Options shared by the commands that talk to the HTTP API.
struct ClientArgs {
  std::optional<std::string> url;          // --url; default from --config or 127.0.0.1:7480
  std::optional<std::string> token;        // --token (or $WAYMARK_TOKEN)
  std::optional<std::string> config_path;  // --config: http.listen and admin token from it
  bool json = false;                       // --json: print the response body as is
};

int cmd_deploy(const ClientArgs& args, const std::string& file);
/// One admin API request with the resolved URL and token (src/cli/ops.cpp uses it).
Result<http::Response> admin_request(const ClientArgs& args, const std::string& method, const std::string& target,
                                     const std::string& body = "");
int cmd_journeys(const ClientArgs& args);
/// GET /api/cluster: this node, the view's hash, each member up or down with its partition count.
int cmd_cluster(const ClientArgs& args);
int cmd_journey(const ClientArgs& args, const std::string& id);
int cmd_customer(const ClientArgs& args, const std::string& id);
/// GET /api/journeys/{id}/results: one row per arm (src/cli/outcomes.cpp).
int cmd_journey_results(const ClientArgs& args, const std::string& id, int version);
struct AttributionArgs {
  std::string model, by = "channel", from, to, lookback, half_life;
};
/// GET /api/attribution: unattributed count and one row per group.
int cmd_attribution(const ClientArgs& args, const AttributionArgs& a);
/// Offline: no server needed. `config_path` unset = config/waymark.json if present.
int cmd_validate(const std::string& file, const std::optional<std::string>& config_path);

}  // namespace waymark::cli
