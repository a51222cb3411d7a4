// Outcome commands: `waymark journey ID --results`, `waymark attribution`.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/render.hpp"
#include "http/client.hpp"

namespace waymark::cli {

namespace json = boost::json;

namespace {

std::string fixed(const json::value* v, int digits) {
  if (!v || !v->is_number()) return "-";
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v->to_number<double>();
  return out.str();
}

std::string fixed(const json::object& o, std::string_view key, int digits) {
  return fixed(o.if_contains(key), digits);
}

/// "+0.0412 [0.0101, 0.0723] p=0.0091 vs holdout", or "-" without an uplift.
std::string uplift_text(const json::object& arm) {
  auto* u = arm.if_contains("uplift");
  if (!u || !u->is_object()) return "-";
  const auto& o = u->as_object();
  const auto& ci = array_at(o, "ci");
  std::ostringstream out;
  out << (o.if_contains("diff") && o.at("diff").is_number() && o.at("diff").to_number<double>() >= 0 ? "+" : "")
      << fixed(o, "diff", 4) << " [" << (ci.size() == 2 ? fixed(&ci[0], 4) : "-") << ", "
      << (ci.size() == 2 ? fixed(&ci[1], 4) : "-") << "] p=" << fixed(o, "p", 4) << " vs " << text(o, "vs");
  return out.str();
}

}  // namespace

int cmd_journey_results(const ClientArgs& args, const std::string& id, int version) {
  int status = 0;
  std::string target = "/api/journeys/" + http::percent_encode(id) + "/results";
  if (version > 0) target += "?version=" + std::to_string(version);
  auto body = get_json_object(args, target, "results of " + id, status);
  if (!body) return status;
  std::cout << "journey " << text(*body, "journey") << "  version "
            << (version > 0 ? std::to_string(version) : std::string("all")) << "\n\n";
  std::vector<Row> rows;
  for (const auto& a : array_at(*body, "arms")) {
    if (!a.is_object()) continue;
    const auto& o = a.as_object();
    rows.push_back({text(o, "arm"), std::to_string(number(o, "entered")), std::to_string(number(o, "converted")),
                    fixed(o, "rate", 4), fixed(o, "value", 2), fixed(o, "value_per_entrant", 2), uplift_text(o)});
  }
  print_table(std::cout, {"arm", "entered", "converted", "rate", "value", "per entrant", "uplift"}, rows);
  return 0;
}

int cmd_attribution(const ClientArgs& args, const AttributionArgs& a) {
  std::string target = "/api/attribution?model=" + http::percent_encode(a.model) + "&by=" +
                       http::percent_encode(a.by) + "&from=" + http::percent_encode(a.from) +
                       "&to=" + http::percent_encode(a.to);
  if (!a.lookback.empty()) target += "&lookback=" + http::percent_encode(a.lookback);
  if (!a.half_life.empty()) target += "&half_life=" + http::percent_encode(a.half_life);
  int status = 0;
  auto body = get_json_object(args, target, "attribution", status);
  if (!body) return status;
  std::cout << "model " << text(*body, "model") << "  by " << text(*body, "by") << "  from " << text(*body, "from")
            << "  to " << text(*body, "to") << "\n";
  std::cout << "conversions " << number(*body, "conversions") << "  unattributed " << number(*body, "unattributed")
            << "\n\n";
  std::vector<Row> rows;
  for (const auto& g : array_at(*body, "groups")) {
    if (!g.is_object()) continue;
    const auto& o = g.as_object();
    rows.push_back({text(o, "group"), fixed(o, "conversions", 4), fixed(o, "value", 2)});
  }
  print_table(std::cout, {"group", "conversions", "value"}, rows);
  return 0;
}

}  // namespace waymark::cli
