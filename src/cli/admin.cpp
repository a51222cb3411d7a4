// Commands that talk to the admin HTTP API: deploy, journeys, journey, customer.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/engagement.hpp"
#include "cli/client.hpp"
#include "cli/render.hpp"
#include "http/client.hpp"
#include "waymark/config.hpp"
#include "waymark/json.hpp"

namespace waymark::cli {
namespace json = boost::json;

namespace {

constexpr const char* kDefaultUrl = "http://127.0.0.1:7480";

struct Target {
  std::string host;
  uint16_t port = 0;
  std::optional<std::string> token;
};

// A listener on the wildcard address is reached through loopback.
std::string connectable(const std::string& host) {
  if (host == "0.0.0.0" || host.empty()) return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

// --url, else --config's http.listen, else the default; --token, else
// $WAYMARK_TOKEN, else the first admin token of --config.
Result<Target> resolve(const ClientArgs& args) {
  Target t;
  std::string url = args.url.value_or(kDefaultUrl);
  std::optional<Config> config;
  if (args.config_path) {
    auto c = load_config(*args.config_path, true);
    if (!c.ok()) return make_error("config", *args.config_path + ": " + c.error().message);
    config = std::move(*c);
  }
  if (!args.url && config) {
    auto hp = parse_host_port(config->http_listen);
    if (!hp.ok()) return make_error("config", "http.listen: " + hp.error().message);
    url = "http://" + connectable(hp->host) + ":" + std::to_string(hp->port);
    if (hp->host.find(':') != std::string::npos)
      url = "http://[" + connectable(hp->host) + "]:" + std::to_string(hp->port);
  }
  auto parsed = http::parse_url(url);
  if (!parsed.ok()) return parsed.error();
  t.host = parsed->first;
  t.port = parsed->second;
  t.token = args.token;
  if (!t.token) {
    if (const char* env = std::getenv("WAYMARK_TOKEN"); env && *env) t.token = env;
  }
  if (!t.token && config && !config->admin_tokens.empty()) t.token = config->admin_tokens.front();
  return t;
}

Result<http::Response> call(const ClientArgs& args, const std::string& method,
                            const std::string& target, const std::string& body = "") {
  auto t = resolve(args);
  if (!t.ok()) return t.error();
  std::vector<std::pair<std::string, std::string>> headers;
  if (t->token) headers.emplace_back("Authorization", "Bearer " + *t->token);
  headers.emplace_back("Accept", "application/json");
  return http::request(t->host, t->port, method, target, body, headers);
}

// The server's {"error": "..."} if there is one, else the raw body.
std::string error_of(const http::Response& r) {
  boost::system::error_code ec;
  auto v = parse_stored_json(r.body, ec);
  if (!ec && v.is_object()) {
    if (auto* e = v.as_object().if_contains("error"); e && e->is_string())
      return std::string(e->as_string());
  }
  return r.body;
}

int report_http_error(const std::string& what, const http::Response& r) {
  std::cerr << what << ": HTTP " << r.status << ": " << error_of(r) << "\n";
  return 1;
}

// GETs `target` and parses an object; prints errors and returns nullopt on failure.
std::optional<json::object> get_object(const ClientArgs& args, const std::string& target,
                                       const std::string& what, int& status) {
  auto r = call(args, "GET", target);
  if (!r.ok()) {
    std::cerr << what << ": " << r.error().message << "\n";
    status = 1;
    return std::nullopt;
  }
  if (r->status != 200) {
    status = report_http_error(what, *r);
    return std::nullopt;
  }
  if (args.json) {
    std::cout << r->body << (r->body.empty() || r->body.back() != '\n' ? "\n" : "");
    status = 0;
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto v = parse_stored_json(r->body, ec);
  if (ec || !v.is_object()) {
    std::cerr << what << ": the server sent something that is not a JSON object\n";
    status = 1;
    return std::nullopt;
  }
  return std::move(v.as_object());
}

Result<json::value> read_json_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) return make_error("io", "cannot read " + file);
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  auto v = parse_stored_json(ss.str(), ec);
  if (ec) return make_error("bad_json", file + ": bad JSON: " + ec.message());
  if (!v.is_object()) return make_error("bad_json", file + ": expected a JSON object");
  return v;
}

int print_validation_errors(const http::Response& r) {
  boost::system::error_code ec;
  auto v = parse_stored_json(r.body, ec);
  if (ec || !v.is_object()) return report_http_error("deploy failed", r);
  const auto& errors = array_at(v.as_object(), "errors");
  for (const auto& e : errors) {
    if (!e.is_object()) continue;
    std::cerr << "  " << text(e.as_object(), "path") << ": " << text(e.as_object(), "message")
              << "\n";
  }
  if (errors.empty()) std::cerr << "  " << error_of(r) << "\n";
  return 1;
}

}  // namespace

Result<http::Response> admin_request(const ClientArgs& args, const std::string& method, const std::string& target,
                                     const std::string& body) {
  return call(args, method, target, body);
}

int cmd_deploy(const ClientArgs& args, const std::string& file) {
  auto doc = read_json_file(file);
  if (!doc.ok()) {
    std::cerr << doc.error().message << "\n";
    return 1;
  }
  const auto& o = doc->as_object();
  bool is_journey = o.contains("steps");
  const auto* id = o.if_contains("id");
  if (!id || !id->is_string() || id->as_string().empty()) {
    std::cerr << file << ": id: a non-empty string is required\n";
    return 1;
  }
  std::string sid(id->as_string());
  std::string path = (is_journey ? "/api/journeys/" : "/api/templates/") + http::percent_encode(sid);
  auto r = call(args, "PUT", path, json::serialize(*doc));
  if (!r.ok()) {
    std::cerr << "deploy failed: " << r.error().message << "\n";
    return 1;
  }
  if (r->status == 422) {
    std::cerr << "deploy failed: " << file << " is invalid:\n";
    return print_validation_errors(*r);
  }
  if (r->status != 200 && r->status != 201) return report_http_error("deploy failed", *r);
  if (!is_journey) {
    std::cout << "deployed template " << sid << "\n";
    return 0;
  }
  boost::system::error_code ec;
  auto v = parse_stored_json(r->body, ec);
  std::string version = "?";
  if (!ec && v.is_object()) version = text(v.as_object(), "version");
  if (!ec && v.is_object() && text(v.as_object(), "status") == "draft") {
    // auth.require_approval (PRODUCT.md §11): it runs once another person approves it.
    std::cout << "stored journey " << sid << " version " << version << " as a draft (waymark approve " << sid << " "
              << version << ")\n";
    return 0;
  }
  std::cout << "deployed journey " << sid << " version " << version << "\n";
  return 0;
}

std::optional<json::object> get_json_object(const ClientArgs& args, const std::string& target,
                                           const std::string& what, int& status) {
  return get_object(args, target, what, status);
}

int cmd_journeys(const ClientArgs& args) {
  int status = 0;
  auto body = get_object(args, "/api/journeys", "journeys", status);
  if (!body) return status;
  std::vector<Row> rows;
  for (const auto& j : array_at(*body, "journeys")) {
    if (!j.is_object()) continue;
    const auto& o = j.as_object();
    const auto& stats = object_at(o, "stats");
    rows.push_back({text(o, "id"), text(o, "version"), text(o, "status"),
                    std::to_string(number(stats, "entered")),
                    std::to_string(number(stats, "active"))});
  }
  print_table(std::cout, {"id", "version", "status", "entered", "active"}, rows);
  return 0;
}

int cmd_cluster(const ClientArgs& args) {
  int status = 0;
  auto body = get_object(args, "/api/cluster", "cluster", status);
  if (!body) return status;
  std::cout << "this " << text(*body, "this") << ", membership hash " << text(*body, "membership_hash") << ", "
            << text(*body, "partitions") << " partitions\n";
  std::vector<Row> rows;
  for (const auto& m : array_at(*body, "members")) {
    if (!m.is_object()) continue;
    const auto& o = m.as_object();
    auto* up = o.if_contains("up");
    auto* parts = o.if_contains("partitions");
    rows.push_back({text(o, "address"), up && up->is_bool() && up->get_bool() ? "up" : "down",
                    std::to_string(parts && parts->is_array() ? parts->get_array().size() : 0)});
  }
  print_table(std::cout, {"member", "state", "partitions"}, rows);
  return 0;
}

namespace {

// Steps in definition order (start first), then any only the stats know.
std::vector<std::string> step_order(const json::object& definition, const json::object& stats) {
  std::vector<std::string> order;
  auto add = [&](const std::string& s) {
    if (std::find(order.begin(), order.end(), s) == order.end()) order.push_back(s);
  };
  if (auto* start = definition.if_contains("start"); start && start->is_string())
    add(std::string(start->as_string()));
  for (const auto& kv : object_at(definition, "steps")) add(std::string(kv.key()));
  for (const auto& kv : stats) add(std::string(kv.key()));
  return order;
}

// "3 (quiet_hours=2 frequency_cap=1)" for a {reason: count} group of a step.
std::string group_text(const json::object& step_stats, std::string_view group) {
  const auto& s = object_at(step_stats, group);
  int64_t total = 0;
  for (const auto& kv : s) total += kv.value().is_int64() ? kv.value().as_int64() : 0;
  if (s.empty()) return "0";
  return std::to_string(total) + " (" + counts_text(s) + ")";
}

void print_journey_header(const json::object& o) {
  const auto& def = object_at(o, "definition");
  std::cout << "journey " << text(o, "id");
  if (def.contains("name")) std::cout << " \"" << text(def, "name") << "\"";
  std::cout << "  version " << text(o, "version") << "  status " << text(o, "status") << "\n";
  std::string versions;
  for (const auto& v : array_at(o, "versions")) versions += (versions.empty() ? "" : ", ") + text(&v);
  if (!versions.empty()) std::cout << "versions: " << versions << "\n";
  if (def.contains("owner")) std::cout << "owner: " << text(def, "owner") << "\n";
  if (def.contains("entry")) std::cout << "entry: " << text(def, "entry") << "\n";
  if (def.contains("goal")) std::cout << "goal: " << text(def, "goal") << "\n";
  const auto& stats = object_at(o, "stats");
  std::cout << "entered " << number(stats, "entered") << "  active " << number(stats, "active")
            << "  exited " << counts_text(object_at(stats, "exited")) << "\n";
  std::cout << "conversions " << conversions_text(object_at(stats, "conversions")) << "\n";
}

/// Per version: entered, active, conversions and their value.
void print_versions(const json::object& stats) {
  std::vector<Row> rows;
  for (const auto& v : array_at(stats, "by_version")) {
    if (!v.is_object()) continue;
    const auto& o = v.as_object();
    const auto& conv = object_at(o, "conversions");
    rows.push_back({text(o, "version"), std::to_string(number(o, "entered")), std::to_string(number(o, "active")),
                    std::to_string(number(conv, "count")), std::to_string(number(conv, "value"))});
  }
  std::cout << "\n";
  print_table(std::cout, {"version", "entered", "active", "conversions", "value"}, rows);
}

}  // namespace

int cmd_journey(const ClientArgs& args, const std::string& id) {
  int status = 0;
  auto body = get_object(args, "/api/journeys/" + http::percent_encode(id), "journey " + id, status);
  if (!body) return status;
  print_journey_header(*body);
  const auto& def = object_at(*body, "definition");
  const auto& steps_def = object_at(def, "steps");
  const auto& steps_stats = object_at(object_at(*body, "stats"), "steps");
  std::vector<Row> rows;
  for (const auto& step : step_order(def, steps_stats)) {
    const auto& d = object_at(steps_def, step);
    const auto& s = object_at(steps_stats, step);
    rows.push_back({step, text(d, "type"), std::to_string(number(s, "visited")), std::to_string(number(s, "active")),
                    std::to_string(number(s, "sent")), std::to_string(number(s, "deferred")),
                    group_text(s, "suppressed"), group_text(s, "exited")});
  }
  std::cout << "\n";
  print_table(std::cout, {"step", "type", "visited", "active", "sent", "deferred", "suppressed", "exited"}, rows);
  print_engagement(std::cout, steps_stats, step_order(def, steps_stats));
  print_versions(object_at(*body, "stats"));
  return 0;
}

namespace {

void print_profile(const json::object& o) {
  const auto& profile = object_at(o, "profile");
  std::cout << "customer " << text(o, "id") << "\n";
  std::cout << "created " << time_text(profile, "created_at") << "  updated "
            << time_text(profile, "updated_at") << "\n";
  std::string merged;
  for (const auto& m : array_at(profile, "merged_ids")) merged += (merged.empty() ? "" : ", ") + text(&m);
  if (!merged.empty()) std::cout << "merged ids: " << merged << "\n";
  std::cout << "\ntraits:\n";
  const auto& traits = object_at(profile, "traits");
  if (traits.empty()) std::cout << "  (none)\n";
  for (const auto& kv : traits) std::cout << "  " << kv.key() << ": " << text(&kv.value()) << "\n";
}

template <class F>
std::vector<Row> rows_of(const json::array& a, F row) {
  std::vector<Row> rows;
  for (const auto& v : a) {
    if (v.is_object()) rows.push_back(row(v.as_object()));
  }
  return rows;
}

}  // namespace

int cmd_customer(const ClientArgs& args, const std::string& id) {
  int status = 0;
  auto body = get_object(args, "/api/customers/" + http::percent_encode(id), "customer " + id, status);
  if (!body) return status;
  const auto& o = *body;
  print_profile(o);
  std::cout << "\ninstances:\n";
  print_table(std::cout, {"journey", "version", "step", "since", "key", "entered"},
              rows_of(array_at(o, "instances"), [](const json::object& i) {
                return Row{text(i, "journey"), text(i, "version"), text(i, "step"),
                           time_text(i, "since"), text(i, "key"), time_text(i, "entered_at")};
              }));
  std::cout << "\nhistory:\n";
  print_table(std::cout, {"at", "name", "properties"},
              rows_of(array_at(o, "history"), [](const json::object& h) {
                return Row{time_text(h, "at"), text(h, "name"), text(h, "properties")};
              }));
  std::cout << "\ndeliveries:\n";
  print_table(std::cout, {"at", "channel", "journey", "step", "status", "id"},
              rows_of(array_at(o, "deliveries"), [](const json::object& d) {
                return Row{time_text(d, "at"), text(d, "channel"), text(d, "journey"),
                           text(d, "step"), text(d, "status"), text(d, "id")};
              }));
  std::cout << "\ntrace:\n";
  print_table(std::cout, {"at", "trigger", "journey", "version", "step", "what"},
              rows_of(array_at(o, "trace"), [](const json::object& t) {
                return Row{time_text(t, "at"), text(t, "trigger"), text(t, "journey"),
                           text(t, "version"), text(t, "step"), text(t, "what")};
              }));
  return 0;
}

}  // namespace waymark::cli
