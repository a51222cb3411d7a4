#include "waymark/cluster_merge.hpp"

namespace json = boost::json;

namespace waymark::cluster {

namespace {

json::value sum(const json::value& a, const json::value& b) {
  if (a.is_int64() && b.is_int64()) return a.get_int64() + b.get_int64();
  if (a.is_uint64() && b.is_uint64()) return a.get_uint64() + b.get_uint64();
  if ((a.is_int64() || a.is_uint64()) && (b.is_int64() || b.is_uint64()))
    return json::value_to<int64_t>(a) + json::value_to<int64_t>(b);
  return a.to_number<double>() + b.to_number<double>();
}

bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

}  // namespace

void add_numbers(json::object& total, const json::object& part) {
  for (auto& [key, v] : part) {
    auto it = total.find(key);
    if (it == total.end()) {
      total[key] = v;
    } else if (is_number(it->value()) && is_number(v)) {
      it->value() = sum(it->value(), v);
    } else if (it->value().is_object() && v.is_object()) {
      add_numbers(it->value().get_object(), v.get_object());
    }
  }
}

json::object counters_json(const std::map<std::string, int64_t>& counters) {
  json::object out;
  for (auto& [k, n] : counters)
    out[k] = n;
  return out;
}

bool add_counters(std::map<std::string, int64_t>& total, const json::value& part) {
  if (!part.is_object()) return false;
  for (auto& [k, v] : part.get_object())
    if (!v.is_int64() && !v.is_uint64()) return false;
  for (auto& [k, v] : part.get_object())
    total[std::string(k)] += json::value_to<int64_t>(v);
  return true;
}

}  // namespace waymark::cluster
