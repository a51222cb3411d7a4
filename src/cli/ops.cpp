// waymark approve / waymark audit (see ops.hpp).
#include "cli/ops.hpp"

#include <iostream>

#include "cli/commands.hpp"
#include "cli/render.hpp"
#include "waymark/json.hpp"

namespace waymark::cli {
namespace json = boost::json;

struct OpsCommands {
  CLI::App* approve = nullptr;
  CLI::App* audit = nullptr;
  ClientArgs approve_args, audit_args;
  std::string url[2], token[2], config[2];
  std::string journey_id;
  int version = 0;
  std::string journey_filter, from, to;
  size_t limit = 100;
};

void OpsCommandsDeleter::operator()(OpsCommands* p) const { delete p; }

namespace {

void add_client(CLI::App* cmd, OpsCommands& o, int i, ClientArgs& args, bool json) {
  cmd->add_option("--url", o.url[i], "HTTP API of a node (default http://127.0.0.1:7480 or --config's http.listen)");
  cmd->add_option("--token", o.token[i], "admin bearer token")->envname("WAYMARK_TOKEN");
  cmd->add_option("--config", o.config[i], "node config file: its http.listen and first admin token");
  if (json) cmd->add_flag("--json", args.json, "print the raw JSON (audit: one entry per line)");
}

void finish_client(CLI::App* cmd, OpsCommands& o, int i, ClientArgs& args) {
  if (cmd->count("--url")) args.url = o.url[i];
  if (!o.token[i].empty()) args.token = o.token[i];
  if (cmd->count("--config")) args.config_path = o.config[i];
}

std::string server_error(const http::Response& r) {
  std::error_code ec;
  auto v = parse_stored_json(r.body, ec);
  if (!ec && v.is_object())
    if (auto* e = v.get_object().if_contains("error"); e && e->is_string()) {
      std::string msg(e->get_string());
      if (auto* role = v.get_object().if_contains("role_needed"); role && role->is_string())
        msg += " (needs the " + std::string(role->get_string()) + " role)";
      return msg;
    }
  return r.body;
}

int cmd_approve(const ClientArgs& args, const std::string& id, int version) {
  auto r = admin_request(args, "POST",
                         "/api/journeys/" + http::percent_encode(id) + "/versions/" + std::to_string(version) + "/approve");
  if (!r.ok()) {
    std::cerr << "approve: " << r.error().message << "\n";
    return 1;
  }
  if (r->status != 200) {
    std::cerr << "approve: HTTP " << r->status << ": " << server_error(*r) << "\n";
    return 1;
  }
  std::cout << "journey " << id << " version " << version << " is live\n";
  return 0;
}

std::string change_text(const json::object& e) {
  return text(e, "before") + " -> " + text(e, "after");
}

/// Follows the pages until `limit` entries are printed or the log ends; rows
/// are printed page by page (memory bounded by one page).
int cmd_audit(const ClientArgs& args, const OpsCommands& o) {
  std::string query = "?limit=" + std::to_string(std::min<size_t>(o.limit, 1000));
  if (!o.journey_filter.empty())
    query += "&journey=" + http::percent_encode(o.journey_filter);
  if (!o.from.empty())
    query += "&from=" + http::percent_encode(o.from);
  if (!o.to.empty())
    query += "&to=" + http::percent_encode(o.to);
  size_t printed = 0;
  std::string after;
  do {
    auto r = admin_request(args, "GET", "/api/audit" + query + (after.empty() ? "" : "&after=" + after));
    if (!r.ok()) {
      std::cerr << "audit: " << r.error().message << "\n";
      return 1;
    }
    if (r->status != 200) {
      std::cerr << "audit: HTTP " << r->status << ": " << server_error(*r) << "\n";
      return 1;
    }
    std::error_code ec;
    auto v = parse_stored_json(r->body, ec);
    if (ec || !v.is_object()) {
      std::cerr << "audit: the server sent something that is not a JSON object\n";
      return 1;
    }
    std::vector<Row> rows;
    for (auto& e : array_at(v.get_object(), "entries")) {
      if (!e.is_object() || printed >= o.limit)
        continue;
      ++printed;
      if (args.json)
        std::cout << json::serialize(e) << "\n";
      else
        rows.push_back({text(e.get_object(), "at"), text(e.get_object(), "who"), text(e.get_object(), "role"),
                        text(e.get_object(), "action"), text(e.get_object(), "object"), change_text(e.get_object())});
    }
    if (!args.json && (!rows.empty() || after.empty()))
      print_table(std::cout, {"at", "who", "role", "action", "object", "change"}, rows);
    auto* next = v.get_object().if_contains("next");
    after = next && next->is_string() ? std::string(next->get_string()) : std::string();
  } while (!after.empty() && printed < o.limit);
  return 0;
}

}  // namespace

OpsCommandsPtr add_ops_commands(CLI::App& app) {
  OpsCommandsPtr o(new OpsCommands);
  o->approve = app.add_subcommand("approve", "approve a journey's draft version: it goes live (approver role)");
  o->approve->add_option("id", o->journey_id, "journey id")->required();
  o->approve->add_option("version", o->version, "draft version")->required()->check(CLI::Range(1, 1000000000));
  add_client(o->approve, *o, 0, o->approve_args, false);
  o->audit = app.add_subcommand("audit", "show the audit log: who changed what, when (oldest first)");
  o->audit->add_option("--journey", o->journey_filter, "only changes of this journey");
  o->audit->add_option("--from", o->from, "RFC 3339: changes at or after");
  o->audit->add_option("--to", o->to, "RFC 3339: changes at or before");
  o->audit->add_option("--limit", o->limit, "entries to show at most (default 100)")->check(CLI::Range(size_t{1}, size_t{1000000}));
  add_client(o->audit, *o, 1, o->audit_args, true);
  return o;
}

std::optional<int> run_ops_commands(OpsCommands& o) {
  if (*o.approve) {
    finish_client(o.approve, o, 0, o.approve_args);
    return cmd_approve(o.approve_args, o.journey_id, o.version);
  }
  if (*o.audit) {
    finish_client(o.audit, o, 1, o.audit_args);
    return cmd_audit(o.audit_args, o);
  }
  return std::nullopt;
}

}  // namespace waymark::cli
