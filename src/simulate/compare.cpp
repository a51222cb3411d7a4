#include "waymark/simulate/compare.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>

namespace json = boost::json;

namespace waymark::simulate {

namespace {

/// What two runs' deliveries must share to be the same message.
std::string signature(const Delivery& d) {
  json::object o = d.to_json();
  o.erase("id");
  o.erase("version");
  return json::serialize(o);
}

bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

/// Numeric leaves of `v` as "a.b.c" -> value. Array elements are named by
/// their "arm" or "version" field when they have one, else by index.
void flatten(const json::value& v, const std::string& path, std::map<std::string, json::value>& out) {
  auto join = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
  if (is_number(v)) {
    out[path] = v;
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object())
      if (kv.key() != "by_version")
        flatten(kv.value(), join(std::string(kv.key())), out);
  } else if (v.is_array()) {
    const auto& arr = v.get_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      const json::value* name = nullptr;
      if (arr[i].is_object())
        if (!(name = arr[i].get_object().if_contains("arm")))
          name = arr[i].get_object().if_contains("version");
      std::string seg = name && name->is_string() ? std::string(name->get_string())
                        : name                    ? json::serialize(*name)
                                                  : std::to_string(i);
      flatten(arr[i], join(seg), out);
    }
  }
}

}  // namespace

std::vector<CounterRow> counter_rows(const json::object& a, const json::object& b) {
  std::set<std::string> journeys;
  for (const auto& kv : a)
    journeys.insert(std::string(kv.key()));
  for (const auto& kv : b)
    journeys.insert(std::string(kv.key()));
  std::vector<CounterRow> rows;
  for (const auto& j : journeys) {
    std::map<std::string, json::value> fa, fb;
    if (auto* v = a.if_contains(j))
      flatten(*v, "", fa);
    if (auto* v = b.if_contains(j))
      flatten(*v, "", fb);
    std::set<std::string> keys;
    for (auto& [k, v] : fa)
      keys.insert(k);
    for (auto& [k, v] : fb)
      keys.insert(k);
    for (const auto& k : keys) {
      auto ia = fa.find(k), ib = fb.find(k);
      rows.push_back(CounterRow{j, k, ia == fa.end() ? json::value(nullptr) : ia->second,
                                ib == fb.end() ? json::value(nullptr) : ib->second});
    }
  }
  return rows;
}

Comparison::Comparison(CatalogPtr a, CatalogPtr b, Options options, DiffSink sink)
    : sink_(std::move(sink)),
      a_(std::move(a), options, [this](const Delivery& d) { pending_a_.push_back(d); }),
      b_(std::move(b), options, [this](const Delivery& d) { pending_b_.push_back(d); }) {}

std::optional<Error> Comparison::feed_line(std::string_view line) {
  auto error = a_.feed_line(line);
  b_.feed_line(line);  // same line, same clock: the same verdict
  flush(std::min(a_.now(), b_.now()), false);  // more events may still come at this instant
  return error;
}

void Comparison::run_out() {
  for (;;) {
    auto da = a_.next_due(), db = b_.next_due();
    std::optional<Millis> next = da && db ? std::min(*da, *db) : da ? da : db;
    if (!next || *next > a_.until())
      break;
    a_.advance_to(*next);
    b_.advance_to(*next);
    flush(*next, true);
  }
  a_.run_out();
  b_.run_out();
  flush(std::max(a_.now(), b_.now()), true);
}

void Comparison::flush(Millis upto, bool inclusive) {
  auto ready = [&](const Delivery& d) { return inclusive ? d.at <= upto : d.at < upto; };
  // Deliveries come in time order (the clock never goes back): a prefix is ready.
  auto end_a = std::find_if_not(pending_a_.begin(), pending_a_.end(), ready);
  auto end_b = std::find_if_not(pending_b_.begin(), pending_b_.end(), ready);
  std::unordered_map<std::string, std::vector<size_t>> in_b;
  for (auto it = pending_b_.begin(); it != end_b; ++it)
    in_b[signature(*it)].push_back(static_cast<size_t>(it - pending_b_.begin()));
  std::vector<bool> b_matched(static_cast<size_t>(end_b - pending_b_.begin()), false);
  for (auto it = pending_a_.begin(); it != end_a; ++it) {
    auto m = in_b.find(signature(*it));
    if (m != in_b.end() && !m->second.empty()) {
      b_matched[m->second.front()] = true;
      m->second.erase(m->second.begin());
      ++matched_;
    } else {
      ++only_a_;
      if (sink_)
        sink_(Side::a, *it);
    }
  }
  for (size_t i = 0; i < b_matched.size(); ++i) {
    if (b_matched[i])
      continue;
    ++only_b_;
    if (sink_)
      sink_(Side::b, pending_b_[i]);
  }
  pending_a_.erase(pending_a_.begin(), end_a);
  pending_b_.erase(pending_b_.begin(), end_b);
}

json::object Comparison::summary() const {
  json::object sa = a_.summary(), sb = b_.summary();
  json::array counters;
  for (const auto& row : counter_rows(sa.at("journeys").as_object(), sb.at("journeys").as_object()))
    if (row.differs())
      counters.push_back(json::object{{"journey", row.journey}, {"counter", row.counter}, {"a", row.a}, {"b", row.b}});
  json::object diff{{"deliveries", json::object{{"only_a", only_a_}, {"only_b", only_b_}, {"matched", matched_}}},
                    {"counters", std::move(counters)}};
  return json::object{{"a", std::move(sa)}, {"b", std::move(sb)}, {"differences", std::move(diff)}};
}

}  // namespace waymark::simulate
