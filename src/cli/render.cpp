// Table and value rendering for the CLI (see render.hpp).
#include "cli/render.hpp"

#include <algorithm>
#include <cctype>

#include "waymark/time.hpp"

namespace waymark::cli {

void print_table(std::ostream& out, const Row& header, const std::vector<Row>& rows) {
  if (rows.empty()) {
    out << "  (none)\n";
    return;
  }
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&](const Row& r) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  auto print = [&](const Row& r, bool upper) {
    std::string line;
    for (size_t i = 0; i < width.size(); ++i) {
      std::string cell = i < r.size() ? r[i] : "";
      if (upper) {
        for (auto& c : cell) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      line += cell;
      if (i + 1 < width.size()) line += std::string(width[i] - cell.size() + 2, ' ');
    }
    out << line << "\n";
  };
  print(header, true);
  for (const auto& r : rows) print(r, false);
}

std::string text(const boost::json::value* v) {
  if (!v || v->is_null()) return "-";
  if (v->is_string()) return std::string(v->as_string());
  return boost::json::serialize(*v);
}

std::string text(const boost::json::object& o, std::string_view key) {
  return text(o.if_contains(key));
}

std::string time_text(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v && v->is_int64()) return format_rfc3339(v->as_int64());
  if (v && v->is_uint64()) return format_rfc3339(static_cast<Millis>(v->as_uint64()));
  return text(v);
}

int64_t number(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  return 0;
}

const boost::json::object& object_at(const boost::json::object& o, std::string_view key) {
  static const boost::json::object empty;
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? v->as_object() : empty;
}

const boost::json::array& array_at(const boost::json::object& o, std::string_view key) {
  static const boost::json::array empty;
  const auto* v = o.if_contains(key);
  return v && v->is_array() ? v->as_array() : empty;
}

std::string conversions_text(const boost::json::object& conversions) {
  return std::to_string(number(conversions, "count")) + " (value " + std::to_string(number(conversions, "value")) +
         ")";
}

std::string counts_text(const boost::json::object& o) {
  std::string out;
  for (const auto& kv : o) {
    if (!out.empty()) out += ' ';
    out += std::string(kv.key()) + "=" + text(&kv.value());
  }
  return out.empty() ? "-" : out;
}

}  // namespace waymark::cli
