// Node configuration (PRODUCT.md §3): one JSON file, every key optional.
// Parsed and validated by src/config/config.cpp; documented in config/README.md.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "waymark/engine.hpp"
#include "waymark/limits.hpp"
#include "waymark/roles.hpp"
#include "waymark/result.hpp"

namespace waymark {

struct HostPort {
  std::string host;
  uint16_t port = 0;  // 0 = chosen by the OS at bind time
};

/// "127.0.0.1:7400", "[::1]:7400", "localhost:0". Error on anything else.
Result<HostPort> parse_host_port(const std::string& text);
bool is_loopback_host(const std::string& host);

struct ChannelConfig {
  std::string name;
  std::string provider = "file";  // file | webhook | smtp | inbox
  double rate_per_s = 0;          // 0 = unlimited
  double burst = 0;               // token bucket size; 0 = max(1, rate_per_s)
  size_t in_flight_max = 16;
  int attempts_max = 8;           // then dead letter
  int64_t backoff_base_ms = 500;  // retry n waits ~ base * 2^(n-1), jittered, capped
  int64_t backoff_max_ms = 60000;
  ChannelPolicy policy;           // what the customer actor checks before a send
  boost::json::object raw;        // the whole channel object (provider-specific keys)
  // Provider-specific keys, validated by parse_channel (config/CHANNELS.md).
  std::string path;                               // file: "" = <data_dir>/outbox/<channel>.ndjson
  std::string url;                                // webhook: http(s) URL (required)
  bool allow_private = false;                     // webhook: allow private/loopback/link-local targets
  std::map<std::string, std::string> headers;     // webhook: extra request headers
  int64_t connect_timeout_ms = 2000;              // webhook, smtp: TCP (+TLS) connect bound
  int64_t timeout_ms = 10000;                     // webhook, smtp: whole attempt bound
  std::string host;                               // smtp: server host (required)
  uint16_t port = 25;                             // smtp: server port
  std::string from;                               // smtp: envelope and header sender (required)
  std::string username;                           // smtp: AUTH user ("" = no AUTH)
  std::string password;                           // smtp: AUTH password
  bool starttls = false;                          // smtp: require STARTTLS before MAIL FROM
  std::string ca_file;                            // webhook, smtp: PEM CA bundle for TLS ("" = system store)
};

struct Config {
  std::string node_id = "n1";
  std::string data_dir = "data";
  std::string tcp_listen = "127.0.0.1:7400";
  std::string http_listen = "127.0.0.1:7480";
  std::string http_public_url;   // tracked links' base; "" = derived from the bound http.listen at start
  std::string http_link_secret;  // tracked links' HMAC key; "" = <data_dir>/link_secret (made once)
  std::string cluster_listen = "127.0.0.1:7440";
  std::vector<std::string> cluster_peers;
  int partitions = 256;
  int64_t forward_timeout_ms = 2000;     // cluster: owner down -> nack with retry within this
  int64_t handshake_timeout_ms = 5000;   // cluster: a peer link not proven within this is dropped
  std::string cluster_secret;            // cluster: every link proves it (required off loopback)
  std::string cluster_tls_cert;          // cluster.tls.cert: this node's certificate (PEM)
  std::string cluster_tls_key;           // cluster.tls.key
  std::string cluster_tls_ca;            // cluster.tls.ca: the private CA peers must chain to
  bool clustered() const { return !cluster_peers.empty(); }
  std::vector<std::string> write_keys;
  std::vector<std::string> admin_tokens;  // every token of `admins`, in order
  std::vector<AdminToken> admins;         // auth.admin_tokens with names, roles, teams (PRODUCT.md §11)
  bool require_approval = false;          // auth.require_approval: a deploy stores a draft
  std::string journeys_dir = "config/journeys";
  std::map<std::string, ChannelConfig> channels;  // defaults: email sms push webhook inapp -> file
  Limits limits;
  std::string clock = "system";  // system | manual
  std::string log_level = "info";
  int scheduler_threads = 2;
  std::string scheduler_policy = "sharing";  // sharing | stealing
  // Outcomes (PRODUCT.md §10): what counts as a conversion and its value, and
  // the horizon of predicted lifetime value.
  std::vector<std::string> conversion_events{"Order Completed"};  // attribution.conversion_events
  std::string conversion_value_path = "properties.revenue";       // attribution.value_path
  Millis clv_horizon = 90LL * 86400 * 1000;                       // clv.horizon
};

/// The defaults of PRODUCT.md §3 (what an empty file gives).
Config default_config();

/// Parses and validates a config document; unknown keys and wrong types are
/// errors with the key path in the message.
Result<Config> config_from_json(const boost::json::value& v);

/// Loads `path`. When the file does not exist and `must_exist` is false, returns
/// default_config().
Result<Config> load_config(const std::string& path, bool must_exist);

/// Refuses configurations that would expose an unauthenticated listener:
/// returns an error when tcp/http listen off loopback with empty key lists.
std::optional<Error> check_exposure(const Config& c);

}  // namespace waymark
