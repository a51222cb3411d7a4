// Config file parsing and validation (PRODUCT.md §3). Every key is documented
// in config/README.md; unknown keys are errors so typos never pass silently.
#include "waymark/config.hpp"
#include "waymark/links.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <set>
#include <sstream>
#include <type_traits>

#include "channel/net_guard.hpp"
#include "waymark/cluster.hpp"
#include "waymark/json.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

using Fields = std::set<std::string>;

std::optional<Error> unknown_keys(const json::object& o, const Fields& known, const std::string& where) {
  for (auto& kv : o)
    if (!known.count(std::string(kv.key())))
      return make_error("bad_config", "unknown key '" + where + std::string(kv.key()) + "'");
  return std::nullopt;
}

/// Highest value of any numeric key unless it names its own bound: far beyond any
/// sensible setting, and a value in seconds still fits in 64 bits as milliseconds.
constexpr double kNumberMax = 1e15;
// Spans in seconds are bounded like journey durations (100 years).
constexpr double kSecondsMax = static_cast<double>(kDurationMax / 1000);

std::string number_text(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", d);
  return buf;
}

/// Reads a number within [min, max]; integer-typed keys must hold whole numbers.
template <class T>
std::optional<Error> read_number(const json::object& o, const char* key, T& out, const std::string& where,
                                 double min = 0, double max = kNumberMax) {
  auto* v = o.if_contains(key);
  if (!v)
    return std::nullopt;
  if (!v->is_number())
    return make_error("bad_config", where + key + " must be a number");
  double d = v->to_number<double>();
  if (std::is_integral_v<T> && d != std::floor(d))
    return make_error("bad_config", where + key + " must be a whole number");
  if (d < min)
    return make_error("bad_config", where + key + " must be >= " + number_text(min));
  if (d > max)
    return make_error("bad_config", where + key + " must be <= " + number_text(max));
  out = static_cast<T>(d);
  return std::nullopt;
}

std::optional<Error> read_string(const json::object& o, const char* key, std::string& out, const std::string& where) {
  auto* v = o.if_contains(key);
  if (!v)
    return std::nullopt;
  if (!v->is_string())
    return make_error("bad_config", where + key + " must be a string");
  out = std::string(v->get_string());
  return std::nullopt;
}

std::optional<Error> read_strings(const json::object& o, const char* key, std::vector<std::string>& out,
                                  const std::string& where) {
  auto* v = o.if_contains(key);
  if (!v)
    return std::nullopt;
  if (!v->is_array())
    return make_error("bad_config", where + key + " must be an array of strings");
  out.clear();
  for (auto& x : v->get_array()) {
    if (!x.is_string())
      return make_error("bad_config", where + key + " must be an array of strings");
    out.emplace_back(x.get_string());
  }
  return std::nullopt;
}

/// Reads one auth.admin_tokens entry: a bare string (an admin named "admin")
/// or {"token","name","role","teams"} (PRODUCT.md §11).
Result<AdminToken> read_admin_token(const json::value& v, const std::string& where) {
  if (v.is_string()) {
    if (v.get_string().empty())
      return make_error("bad_config", where + " must not be empty");
    return AdminToken{std::string(v.get_string()), "admin", Role::admin, {}};
  }
  if (!v.is_object())
    return make_error("bad_config", where + " must be a string or {\"token\",\"name\",\"role\",\"teams\"}");
  const auto& o = v.get_object();
  AdminToken t;
  std::string role;
  if (auto e = unknown_keys(o, {"token", "name", "role", "teams"}, where + "."))
    return *e;
  if (auto e = read_string(o, "token", t.token, where + "."))
    return *e;
  if (auto e = read_string(o, "name", t.name, where + "."))
    return *e;
  if (auto e = read_string(o, "role", role, where + "."))
    return *e;
  if (auto e = read_strings(o, "teams", t.teams, where + "."))
    return *e;
  if (t.token.empty())
    return make_error("bad_config", where + ".token must be a non-empty string");
  if (t.name.empty() || t.name.size() > 64 ||
      std::any_of(t.name.begin(), t.name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return make_error("bad_config", where + ".name must be 1-64 printable characters (the person in the audit log)");
  if (t.name == kSeedName || t.name == kAnonymousName)
    return make_error("bad_config", where + ".name '" + t.name + "' is reserved for the node itself");
  auto r = parse_role(role);
  if (!r)
    return make_error("bad_config", where + ".role must be one of viewer, editor, approver, admin");
  t.role = *r;
  for (auto& team : t.teams)
    if (team.empty() || team.size() > 64 || team.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
      return make_error("bad_config", where + ".teams: team '" + team + "' must be [a-z0-9_-]{1,64}");
  return t;
}

/// auth.admin_tokens: every entry valid, no token twice, and one name is one
/// person (the same role and teams wherever it appears: token rotation).
std::optional<Error> read_admin_tokens(const json::object& auth, Config& c) {
  auto* v = auth.if_contains("admin_tokens");
  if (!v)
    return std::nullopt;
  if (!v->is_array())
    return make_error("bad_config", "auth.admin_tokens must be an array");
  c.admins.clear();
  c.admin_tokens.clear();
  for (size_t i = 0; i < v->get_array().size(); ++i) {
    const std::string where = "auth.admin_tokens[" + std::to_string(i) + "]";
    auto t = read_admin_token(v->get_array()[i], where);
    if (!t)
      return t.error();
    for (size_t j = 0; j < c.admins.size(); ++j) {
      const auto& other = c.admins[j];
      if (other.token == t->token)
        return make_error("bad_config", where + " has the same token as auth.admin_tokens[" + std::to_string(j) + "]");
      if (other.name == t->name && (other.role != t->role || other.teams != t->teams))
        return make_error("bad_config", where + ".name '" + t->name + "' is also auth.admin_tokens[" +
                                          std::to_string(j) + "] with another role or teams");
    }
    c.admin_tokens.push_back(t->token);
    c.admins.push_back(std::move(*t));
  }
  return std::nullopt;
}

std::optional<Error> read_listen(const json::object& o, const char* section, std::string& out) {
  auto* v = o.if_contains(section);
  if (!v)
    return std::nullopt;
  if (!v->is_object())
    return make_error("bad_config", std::string(section) + " must be an object");
  const auto& s = v->get_object();
  auto known = Fields{"listen"};
  if (std::string(section) == "http")
    known = {"listen", "public_url", "link_secret"};
  if (std::string(section) == "cluster")
    known = {"listen", "peers", "partitions", "forward_timeout_ms", "handshake_timeout_ms", "secret", "tls"};
  if (auto e = unknown_keys(s, known, std::string(section) + "."))
    return e;
  if (auto e = read_string(s, "listen", out, std::string(section) + "."))
    return e;
  if (auto hp = parse_host_port(out); !hp)
    return make_error("bad_config", std::string(section) + ".listen: " + hp.error().message);
  return std::nullopt;
}

/// http.public_url and http.link_secret (tracked links, PRODUCT.md §10).
std::optional<Error> parse_links(const json::object& h, Config& c) {
  constexpr size_t secret_chars_min = 16, secret_chars_max = 1024;
  if (auto e = read_string(h, "public_url", c.http_public_url, "http."))
    return e;
  if (h.contains("public_url")) {
    auto url = links::normalize_public_url(c.http_public_url);
    if (!url)
      return url.error();
    c.http_public_url = *url;
  }
  if (auto e = read_string(h, "link_secret", c.http_link_secret, "http."))
    return e;
  if (h.contains("link_secret") &&
      (c.http_link_secret.size() < secret_chars_min || c.http_link_secret.size() > secret_chars_max))
    return make_error("bad_config", "http.link_secret must be " + std::to_string(secret_chars_min) + " to " +
                                        std::to_string(secret_chars_max) + " characters");
  return std::nullopt;
}

/// cluster.tls: {"cert","key","ca"}, all three or none.
std::optional<Error> parse_cluster_tls(const json::object& cl, Config& c) {
  auto* t = cl.if_contains("tls");
  if (!t)
    return std::nullopt;
  if (!t->is_object())
    return make_error("bad_config", "cluster.tls must be an object {\"cert\",\"key\",\"ca\"}");
  const auto& o = t->get_object();
  std::optional<Error> e;
  if ((e = unknown_keys(o, {"cert", "key", "ca"}, "cluster.tls.")) ||
      (e = read_string(o, "cert", c.cluster_tls_cert, "cluster.tls.")) ||
      (e = read_string(o, "key", c.cluster_tls_key, "cluster.tls.")) || (e = read_string(o, "ca", c.cluster_tls_ca, "cluster.tls.")))
    return e;
  if (c.cluster_tls_cert.empty() || c.cluster_tls_key.empty() || c.cluster_tls_ca.empty())
    return make_error("bad_config", "cluster.tls needs cert, key and ca (file paths)");
  return std::nullopt;
}

/// The cluster section past "listen" (read by read_listen); the member set
/// (listen + peers) must form a valid view.
std::optional<Error> parse_cluster(const json::object& cl, Config& c) {
  std::optional<Error> e;
  if ((e = read_strings(cl, "peers", c.cluster_peers, "cluster.")) ||
      (e = read_number(cl, "partitions", c.partitions, "cluster.", 1, 65536)) ||
      (e = read_number(cl, "forward_timeout_ms", c.forward_timeout_ms, "cluster.", 1, 600000)) ||
      (e = read_number(cl, "handshake_timeout_ms", c.handshake_timeout_ms, "cluster.", 1, 600000)) ||
      (e = read_string(cl, "secret", c.cluster_secret, "cluster.")) || (e = parse_cluster_tls(cl, c)))
    return e;
  if (cl.if_contains("secret") && c.cluster_secret.size() < 16)
    return make_error("bad_config", "cluster.secret must be at least 16 characters");
  if (!c.clustered())
    return std::nullopt;
  auto members = c.cluster_peers;
  members.push_back(c.cluster_listen);
  auto view = cluster::Membership::make(std::move(members), static_cast<uint32_t>(c.partitions));
  if (!view)
    return make_error("bad_config", "cluster.peers: " + view.error().message);
  for (auto& p : c.cluster_peers)
    if (auto hp = parse_host_port(p); !hp)
      return make_error("bad_config", "cluster.peers: '" + p + "': " + hp.error().message);
  return std::nullopt;
}

int parse_clock_minutes(const std::string& s) {
  // "HH:MM" -> minutes after midnight, -1 when malformed
  if (s.size() != 5 || s[2] != ':' || !isdigit(s[0]) || !isdigit(s[1]) || !isdigit(s[3]) || !isdigit(s[4]))
    return -1;
  int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  return h < 24 && m < 60 ? h * 60 + m : -1;
}

std::string default_address_trait(const std::string& channel) {
  if (channel == "email")
    return "email";
  if (channel == "sms")
    return "phone";
  if (channel == "push")
    return "push_token";
  return "";
}

ChannelConfig default_channel(const std::string& name) {
  ChannelConfig c;
  c.name = name;
  c.policy.name = name;
  c.policy.address_trait = default_address_trait(name);
  c.policy.html_escape = name == "email";
  c.raw = json::object{{"provider", "file"}};
  return c;
}

std::optional<Error> read_bool(const json::object& o, const char* key, bool& out, const std::string& where) {
  auto* v = o.if_contains(key);
  if (!v)
    return std::nullopt;
  if (!v->is_bool())
    return make_error("bad_config", where + key + " must be true or false");
  out = v->get_bool();
  return std::nullopt;
}

// Upper bounds of the generic delivery keys (lower bounds are checked on read).
std::optional<Error> check_delivery_bounds(ChannelConfig& c, const std::string& where) {
  auto over = [&](const char* key, double v, double max) -> std::optional<Error> {
    if (v > max)
      return make_error("bad_config", where + key + " must be <= " + std::to_string(static_cast<int64_t>(max)));
    return std::nullopt;
  };
  std::optional<Error> e;
  if ((e = over("rate_per_s", c.rate_per_s, 1e6)) || (e = over("burst", c.burst, 1e6)) ||
      (e = over("in_flight_max", static_cast<double>(c.in_flight_max), 1024)) ||
      (e = over("attempts_max", c.attempts_max, 100)) || (e = over("backoff_base_ms", static_cast<double>(c.backoff_base_ms), 3600000)) ||
      (e = over("backoff_max_ms", static_cast<double>(c.backoff_max_ms), 86400000)))
    return e;
  if (c.backoff_base_ms < 1)
    return make_error("bad_config", where + "backoff_base_ms must be >= 1");
  if (c.backoff_max_ms < c.backoff_base_ms)
    return make_error("bad_config", where + "backoff_max_ms must be >= backoff_base_ms");
  return std::nullopt;
}

// Keys that only one provider reads; required ones are checked per provider.
std::optional<Error> parse_provider_keys(const json::object& o, ChannelConfig& c, const std::string& where) {
  std::optional<Error> e;
  double port = c.port;
  if ((e = read_string(o, "path", c.path, where)) || (e = read_string(o, "url", c.url, where)) ||
      (e = read_bool(o, "allow_private", c.allow_private, where)) ||
      (e = read_number(o, "connect_timeout_ms", c.connect_timeout_ms, where, 1)) ||
      (e = read_number(o, "timeout_ms", c.timeout_ms, where, 1)) || (e = read_string(o, "host", c.host, where)) ||
      (e = read_number(o, "port", port, where, 1)) || (e = read_string(o, "from", c.from, where)) ||
      (e = read_string(o, "username", c.username, where)) || (e = read_string(o, "password", c.password, where)) ||
      (e = read_bool(o, "starttls", c.starttls, where)) || (e = read_string(o, "ca_file", c.ca_file, where)))
    return e;
  std::error_code ec;
  if (!c.ca_file.empty() && (!std::filesystem::is_regular_file(c.ca_file, ec) || !std::ifstream(c.ca_file)))
    return make_error("bad_config", where + "ca_file '" + c.ca_file + "' is not a readable file");
  if (port > 65535)
    return make_error("bad_config", where + "port must be <= 65535");
  c.port = static_cast<uint16_t>(port);
  if (c.connect_timeout_ms > 600000 || c.timeout_ms > 3600000)
    return make_error("bad_config", where + "connect_timeout_ms must be <= 600000 and timeout_ms <= 3600000");
  if (auto* h = o.if_contains("headers")) {
    if (!h->is_object())
      return make_error("bad_config", where + "headers must be an object of strings");
    for (auto& kv : h->get_object()) {
      if (!kv.value().is_string())
        return make_error("bad_config", where + "headers." + std::string(kv.key()) + " must be a string");
      c.headers[std::string(kv.key())] = std::string(kv.value().get_string());
    }
  }
  if (c.provider == "webhook") {
    if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0)
      return make_error("bad_config", where + "url (http:// or https://) is required for provider webhook");
    if (!c.allow_private)
      if (auto why = literal_private_destination(c.url))
        return make_error("bad_config", where + "url points to " + *why +
                                            "; set \"allow_private\": true to allow it");
  }
  if (c.provider == "smtp" && (c.host.empty() || c.from.empty()))
    return make_error("bad_config", where + "host and from are required for provider smtp");
  if (c.provider == "smtp" && !c.username.empty() && !c.starttls && !is_loopback_host(c.host))
    return make_error("bad_config", where + "username needs \"starttls\": true (AUTH would send the password in clear)");
  return std::nullopt;
}

Result<ChannelConfig> parse_channel(const std::string& name, const json::value& v) {
  const std::string where = "channels." + name + ".";
  if (!v.is_object())
    return make_error("bad_config", "channels." + name + " must be an object");
  const auto& o = v.get_object();
  static const Fields known = {
    "provider", "rate_per_s", "burst", "in_flight_max", "attempts_max", "backoff_base_ms", "backoff_max_ms",
    "frequency_cap", "quiet_hours", "address_trait", "html_escape",
    // provider-specific (see config/README.md)
    "path", "url", "allow_private", "headers", "connect_timeout_ms", "timeout_ms", "host", "port", "from",
    "username", "password", "starttls", "ca_file"};
  if (auto e = unknown_keys(o, known, where))
    return *e;
  ChannelConfig c = default_channel(name);
  c.raw = o;
  std::optional<Error> e;
  if ((e = read_string(o, "provider", c.provider, where)) || (e = read_number(o, "rate_per_s", c.rate_per_s, where)) ||
      (e = read_number(o, "burst", c.burst, where)) || (e = read_number(o, "in_flight_max", c.in_flight_max, where, 1)) ||
      (e = read_number(o, "attempts_max", c.attempts_max, where, 1)) ||
      (e = read_number(o, "backoff_base_ms", c.backoff_base_ms, where)) ||
      (e = read_number(o, "backoff_max_ms", c.backoff_max_ms, where)) ||
      (e = read_string(o, "address_trait", c.policy.address_trait, where)))
    return *e;
  static const Fields providers = {"file", "webhook", "smtp", "inbox"};
  if (!providers.count(c.provider))
    return make_error("bad_config", where + "provider must be one of file, webhook, smtp, inbox");
  if (auto* h = o.if_contains("html_escape")) {
    if (!h->is_bool())
      return make_error("bad_config", where + "html_escape must be true or false");
    c.policy.html_escape = h->get_bool();
  }
  if (auto* f = o.if_contains("frequency_cap")) {
    if (!f->is_object() || !f->get_object().if_contains("max") || !f->get_object().if_contains("per"))
      return make_error("bad_config", where + "frequency_cap must be {\"max\": N, \"per\": \"1d\"}");
    auto& fo = f->get_object();
    if (auto e = unknown_keys(fo, {"max", "per"}, where + "frequency_cap."))
      return *e;
    if (!fo.at("max").is_int64() || fo.at("max").get_int64() < 1)
      return make_error("bad_config", where + "frequency_cap.max must be a positive integer");
    auto per = fo.at("per").is_string() ? parse_duration(std::string(fo.at("per").get_string())) : std::nullopt;
    if (!per)
      return make_error("bad_config", where + "frequency_cap.per must be a duration like \"1d\"");
    if (*per > kDurationMax)
      return make_error("bad_config", where + "frequency_cap.per is longer than 100 years");
    c.policy.frequency_cap = std::make_pair(static_cast<int>(fo.at("max").get_int64()), *per);
  }
  if (auto* q = o.if_contains("quiet_hours")) {
    if (!q->is_object())
      return make_error("bad_config", where + "quiet_hours must be {\"start\":\"21:00\",\"end\":\"08:00\"}");
    auto& qo = q->get_object();
    if (auto e = unknown_keys(qo, {"start", "end"}, where + "quiet_hours."))
      return *e;
    auto* s = qo.if_contains("start");
    auto* en = qo.if_contains("end");
    int sm = s && s->is_string() ? parse_clock_minutes(std::string(s->get_string())) : -1;
    int em = en && en->is_string() ? parse_clock_minutes(std::string(en->get_string())) : -1;
    if (sm < 0 || em < 0 || sm == em)
      return make_error("bad_config", where + "quiet_hours needs start and end as distinct \"HH:MM\"");
    c.policy.quiet_hours = QuietHours{sm, em};
  }
  if (auto e = check_delivery_bounds(c, where))
    return *e;
  if (auto e = parse_provider_keys(o, c, where))
    return *e;
  return c;
}

std::optional<Error> parse_limits(const json::object& o, Limits& l) {
  std::optional<Error> e;
  const std::string w = "limits.";
  static const Fields known = {
    "line_bytes_max", "event_bytes_max", "request_bytes_max", "json_depth_max", "connection_unacked_max",
    "connections_max", "live_customers_max", "customer_idle_s", "history_events_max", "history_age_s",
    "dedup_window_s", "steps_per_event_max", "trace_entries_max", "deliveries_recent_max", "outbox_warn_entries",
    "commit_batch_events_max", "commit_delay_us_max", "timers_in_flight_max", "delivery_batch_max", "map_size_mb",
    "snapshot_every", "log_records_max", "http_connections_max", "connection_idle_s", "connection_incomplete_s",
    "node_unacked_bytes_max"};
  if ((e = unknown_keys(o, known, w)))
    return e;
  if ((e = read_number(o, "line_bytes_max", l.line_bytes_max, w, 64)) ||
      (e = read_number(o, "event_bytes_max", l.event_bytes_max, w, 64)) ||
      (e = read_number(o, "request_bytes_max", l.request_bytes_max, w, 64)) ||
      (e = read_number(o, "json_depth_max", l.json_depth_max, w, 2, kJsonDepthMaxBound)) ||
      (e = read_number(o, "connection_unacked_max", l.connection_unacked_max, w, 1)) ||
      (e = read_number(o, "connections_max", l.connections_max, w, 1)) ||
      (e = read_number(o, "http_connections_max", l.http_connections_max, w, 1, 100000)) ||
      (e = read_number(o, "connection_idle_s", l.connection_idle_s, w, 1, 86400)) ||
      (e = read_number(o, "connection_incomplete_s", l.connection_incomplete_s, w, 1, 3600)) ||
      (e = read_number(o, "node_unacked_bytes_max", l.node_unacked_bytes_max, w, 65536, size_t{1} << 40)) ||
      (e = read_number(o, "live_customers_max", l.live_customers_max, w, 1)) ||
      (e = read_number(o, "customer_idle_s", l.customer_idle_s, w, 1, kSecondsMax)) ||
      (e = read_number(o, "history_events_max", l.history_events_max, w, 1)) ||
      (e = read_number(o, "history_age_s", l.history_age_s, w, 1, kSecondsMax)) ||
      (e = read_number(o, "dedup_window_s", l.dedup_window_s, w, 1, kSecondsMax)) ||
      (e = read_number(o, "steps_per_event_max", l.steps_per_event_max, w, 1)) ||
      (e = read_number(o, "trace_entries_max", l.trace_entries_max, w, 0)) ||
      (e = read_number(o, "deliveries_recent_max", l.deliveries_recent_max, w, 0)) ||
      (e = read_number(o, "outbox_warn_entries", l.outbox_warn_entries, w, 1)) ||
      (e = read_number(o, "commit_batch_events_max", l.commit_batch_events_max, w, 1)) ||
      (e = read_number(o, "commit_delay_us_max", l.commit_delay_us_max, w, 0)) ||
      (e = read_number(o, "timers_in_flight_max", l.timers_in_flight_max, w, 1)) ||
      (e = read_number(o, "delivery_batch_max", l.delivery_batch_max, w, 1)) ||
      (e = read_number(o, "map_size_mb", l.map_size_mb, w, 16)) ||
      (e = read_number(o, "snapshot_every", l.snapshot_every, w, 1, 4096)) ||
      (e = read_number(o, "log_records_max", l.log_records_max, w, 1024)))
    return e;
  if (l.event_bytes_max > l.line_bytes_max)
    l.event_bytes_max = l.line_bytes_max;
  return std::nullopt;
}

}  // namespace

Result<HostPort> parse_host_port(const std::string& text) {
  HostPort hp;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return make_error("bad_address", "expected [v6]:port, got '" + text + "'");
    hp.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return make_error("bad_address", "expected host:port, got '" + text + "'");
    hp.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    return make_error("bad_address", "bad port in '" + text + "'");
  hp.port = static_cast<uint16_t>(std::stoul(port));
  return hp;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1")
    return true;
  // Only a literal IPv4 address in 127.0.0.0/8: "127.attacker.example" is a name.
  in_addr a{};
  return ::inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/// `attribution.conversion_events` (1-100 distinct non-empty names, each at
/// most 256 bytes), `attribution.value_path` ("properties.*" or "context.*",
/// or "" for no value) and `clv.horizon` (a duration, 1 day to 10 years).
std::optional<Error> parse_outcomes(const json::object& o, Config& c) {
  std::optional<Error> e;
  if (auto* a = o.if_contains("attribution")) {
    if (!a->is_object())
      return make_error("bad_config", "attribution must be an object");
    const auto& ao = a->get_object();
    if ((e = unknown_keys(ao, {"conversion_events", "value_path"}, "attribution.")) ||
        (e = read_strings(ao, "conversion_events", c.conversion_events, "attribution.")) ||
        (e = read_string(ao, "value_path", c.conversion_value_path, "attribution.")))
      return e;
    const std::set<std::string> distinct(c.conversion_events.begin(), c.conversion_events.end());
    if (c.conversion_events.empty() || c.conversion_events.size() > 100 || distinct.size() != c.conversion_events.size())
      return make_error("bad_config", "attribution.conversion_events must hold 1-100 distinct event names");
    for (auto& name : c.conversion_events)
      if (name.empty() || name.size() > 256)
        return make_error("bad_config", "attribution.conversion_events: names must be 1-256 bytes");
    const std::string& vp = c.conversion_value_path;
    const bool prefixed = vp.rfind("properties.", 0) == 0 || vp.rfind("context.", 0) == 0;
    if (!vp.empty() && (!prefixed || vp.back() == '.' || vp.find("..") != std::string::npos || vp.size() > 256))
      return make_error("bad_config", "attribution.value_path must be properties.<path> or context.<path> (or \"\")");
  }
  if (auto* cl = o.if_contains("clv")) {
    if (!cl->is_object())
      return make_error("bad_config", "clv must be an object");
    if ((e = unknown_keys(cl->get_object(), {"horizon"}, "clv.")))
      return e;
    if (auto* h = cl->get_object().if_contains("horizon")) {
      auto d = h->is_string() ? parse_duration(h->get_string()) : std::nullopt;
      constexpr Millis day = 86400LL * 1000;
      if (!d || *d < day || *d > 3653 * day)
        return make_error("bad_config", "clv.horizon must be a duration from \"1d\" to \"3653d\" (e.g. \"90d\")");
      c.clv_horizon = *d;
    }
  }
  return std::nullopt;
}

Config default_config() {
  Config c;
  for (const char* ch : {"email", "sms", "push", "webhook", "inapp"})
    c.channels[ch] = default_channel(ch);
  return c;
}

Result<Config> config_from_json(const json::value& v) {
  if (!v.is_object())
    return make_error("bad_config", "the config must be a JSON object");
  const auto& o = v.get_object();
  static const Fields known = {"node", "data_dir", "tcp", "http", "cluster", "auth", "journeys_dir",
                               "channels", "limits", "clock", "log_level", "scheduler", "attribution", "clv"};
  if (auto e = unknown_keys(o, known, ""))
    return *e;
  Config c = default_config();
  std::optional<Error> e;
  if (auto* n = o.if_contains("node")) {
    if (!n->is_object())
      return make_error("bad_config", "node must be an object");
    if ((e = unknown_keys(n->get_object(), {"id"}, "node.")) || (e = read_string(n->get_object(), "id", c.node_id, "node.")))
      return *e;
  }
  if ((e = read_string(o, "data_dir", c.data_dir, "")) || (e = read_string(o, "journeys_dir", c.journeys_dir, "")) ||
      (e = read_string(o, "clock", c.clock, "")) || (e = read_string(o, "log_level", c.log_level, "")) ||
      (e = read_listen(o, "tcp", c.tcp_listen)) || (e = read_listen(o, "http", c.http_listen)) ||
      (e = read_listen(o, "cluster", c.cluster_listen)))
    return *e;
  if (c.node_id.empty())
    return make_error("bad_config", "node.id must not be empty");
  if (c.data_dir.empty())
    return make_error("bad_config", "data_dir must not be empty");
  if (c.clock != "system" && c.clock != "manual")
    return make_error("bad_config", "clock must be \"system\" or \"manual\"");
  if (auto* h = o.if_contains("http"); h && h->is_object())
    if ((e = parse_links(h->get_object(), c)))
      return *e;
  if (auto* cl = o.if_contains("cluster"); cl && cl->is_object())
    if ((e = parse_cluster(cl->get_object(), c)))
      return *e;
  if (auto* a = o.if_contains("auth")) {
    if (!a->is_object())
      return make_error("bad_config", "auth must be an object");
    if ((e = unknown_keys(a->get_object(), {"write_keys", "admin_tokens", "require_approval"}, "auth.")) ||
        (e = read_strings(a->get_object(), "write_keys", c.write_keys, "auth.")) ||
        (e = read_admin_tokens(a->get_object(), c)))
      return *e;
    if (auto* ra = a->get_object().if_contains("require_approval")) {
      if (!ra->is_bool())
        return make_error("bad_config", "auth.require_approval must be true or false");
      c.require_approval = ra->get_bool();
    }
  }
  if (auto* s = o.if_contains("scheduler")) {
    if (!s->is_object())
      return make_error("bad_config", "scheduler must be an object");
    if ((e = unknown_keys(s->get_object(), {"threads", "policy"}, "scheduler.")) ||
        (e = read_number(s->get_object(), "threads", c.scheduler_threads, "scheduler.", 1, 1024)) ||
        (e = read_string(s->get_object(), "policy", c.scheduler_policy, "scheduler.")))
      return *e;
    if (c.scheduler_policy != "sharing" && c.scheduler_policy != "stealing")
      return make_error("bad_config", "scheduler.policy must be \"sharing\" or \"stealing\"");
  }
  if ((e = parse_outcomes(o, c)))
    return *e;
  if (auto* l = o.if_contains("limits")) {
    if (!l->is_object())
      return make_error("bad_config", "limits must be an object");
    if ((e = parse_limits(l->get_object(), c.limits)))
      return *e;
  }
  if (auto* ch = o.if_contains("channels")) {
    if (!ch->is_object())
      return make_error("bad_config", "channels must be an object");
    c.channels.clear();
    for (auto& kv : ch->get_object()) {
      std::string name(kv.key());
      if (name.empty() || name.size() > 64 || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
        return make_error("bad_config", "channel name '" + name + "' must be [a-z0-9_-]{1,64}");
      auto parsed = parse_channel(name, kv.value());
      if (!parsed)
        return parsed.error();
      c.channels[name] = std::move(*parsed);
    }
  }
  return c;
}

Result<Config> load_config(const std::string& path, bool must_exist) {
  std::ifstream in(path);
  if (!in) {
    if (must_exist)
      return make_error("bad_config", "cannot open config file '" + path + "'");
    return default_config();
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::error_code ec;
  auto v = parse_stored_json(ss.str(), ec);
  if (ec)
    return make_error("bad_config", path + ": invalid JSON: " + ec.message());
  auto c = config_from_json(v);
  if (!c)
    return make_error("bad_config", path + ": " + c.error().message);
  return c;
}

std::optional<Error> check_exposure(const Config& c) {
  auto tcp = parse_host_port(c.tcp_listen);
  if (tcp && !is_loopback_host(tcp->host) && c.write_keys.empty())
    return make_error("exposed", "tcp.listen " + c.tcp_listen +
                                   " is not on loopback and auth.write_keys is empty: refusing to start");
  auto http = parse_host_port(c.http_listen);
  if (http && !is_loopback_host(http->host) && (c.write_keys.empty() || c.admin_tokens.empty()))
    return make_error("exposed", "http.listen " + c.http_listen +
                                   " is not on loopback and auth.write_keys or auth.admin_tokens is empty: refusing to start");
  auto cluster = parse_host_port(c.cluster_listen);
  if (c.clustered() && cluster && !is_loopback_host(cluster->host) && (c.cluster_secret.empty() || c.cluster_tls_ca.empty()))
    return make_error("exposed", "cluster.listen " + c.cluster_listen +
                                   " is not on loopback and cluster.secret or cluster.tls is missing: refusing to start");
  return std::nullopt;
}

}  // namespace waymark
