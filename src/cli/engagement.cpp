#include "cli/engagement.hpp"

#include <cstdio>

#include "cli/render.hpp"

namespace waymark::cli {

namespace json = boost::json;

std::string rate_text(const json::object& rates, const char* key) {
  auto* v = rates.if_contains(key);
  if (!v || !v->is_number())
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v->to_number<double>() * 100.0);
  return buf;
}

void print_engagement(std::ostream& out, const json::object& steps_stats, const std::vector<std::string>& order) {
  std::vector<Row> rows;
  for (const auto& step : order) {
    const auto& s = object_at(steps_stats, step);
    if (number(s, "sent") <= 0)
      continue;
    const auto& eng = object_at(s, "engagement");
    const auto& rates = object_at(s, "rates");
    rows.push_back({step, std::to_string(number(s, "sent")), std::to_string(number(object_at(s, "delivery"), "delivered")),
                    std::to_string(number(eng, "opened")), std::to_string(number(eng, "clicked")),
                    std::to_string(number(eng, "bounced")), rate_text(rates, "open"), rate_text(rates, "click"),
                    rate_text(rates, "bounce")});
  }
  if (rows.empty())
    return;
  out << "\n";
  print_table(out, {"step", "sent", "delivered", "opens", "clicks", "bounces", "open rate", "click rate", "bounce rate"},
              rows);
}

}  // namespace waymark::cli
