// `waymark simulate` (PRODUCT.md §2, §11): reads the journey folders and the
// events file, drives src/simulate/ and prints. The loop itself is
// simulate::Simulator / simulate::Comparison; this file only loads and prints.
#include "cli/simulate.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/render.hpp"
#include "waymark/journeys_dir.hpp"
#include "waymark/simulate/compare.hpp"

namespace waymark::cli {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kDefaultConfig = "config/waymark.json";
constexpr int kLineErrorsShown = 20;  // then only counted

/// The journeys and templates of `dir`, seeded as a node seeds journeys_dir.
Result<CatalogPtr> load_journeys(const std::string& dir, const Config& config) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return make_error("bad_usage", dir + ": not a directory");
  auto files = read_journeys_dir(dir);
  if (!files)
    return files.error();
  auto seeded = seed_catalog(*base_catalog(config), *files);
  if (!seeded)
    return seeded.error();
  return seeded->catalog;
}

std::optional<Millis> parse_time(const std::string& flag, const std::string& text) {
  auto t = parse_rfc3339(text);
  if (!t)
    std::cerr << "simulate: " << flag << ": not an RFC 3339 date-time: " << text << "\n";
  return t;
}

std::string number_text(const json::value& v) {
  if (v.is_double()) {
    std::ostringstream s;
    s << std::setprecision(4) << v.get_double();
    return s.str();
  }
  return v.is_null() ? "-" : json::serialize(v);
}

/// A step's counters on one line: "visited=3 sent=2 suppressed.no_address=1".
std::string step_text(const json::object& o, const std::string& prefix = "") {
  std::string out;
  for (const auto& kv : o) {
    const std::string key = prefix + std::string(kv.key());
    std::string part = kv.value().is_object() ? step_text(kv.value().get_object(), key + ".")
                                              : key + "=" + number_text(kv.value());
    if (!part.empty())
      out += (out.empty() ? "" : " ") + part;
  }
  return out;
}

void print_delivery_line(std::ostream& out, const Delivery& d, const char* mark) {
  out << mark << format_rfc3339(d.at) << "  " << d.channel << "  " << d.customer << "  " << d.journey << "/"
      << d.step << "  " << d.template_id << "  -> " << d.to << "\n";
}

void print_summary_text(std::ostream& out, const json::object& s) {
  const auto& ev = object_at(s, "events");
  const auto& timers = object_at(s, "timers");
  out << "\nsimulated " << text(s, "start") << " .. " << text(s, "end") << ": " << number(ev, "applied")
      << " events applied (" << number(ev, "invalid") << " invalid, " << number(ev, "duplicate") << " duplicate, "
      << number(ev, "late") << " late, " << number(ev, "after_until") << " after --until), " << number(s, "customers")
      << " customers, " << number(s, "deliveries") << " deliveries, " << number(timers, "fired")
      << " timers fired (" << number(timers, "pending") << " pending)\n\n";
  std::vector<Row> steps, arms;
  for (const auto& [id, jv] : object_at(s, "journeys")) {
    const auto& j = jv.as_object();
    steps.push_back({std::string(id), "(journey)",
                     "entered=" + std::to_string(number(j, "entered")) + " active=" +
                       std::to_string(number(j, "active")) + " conversions=" +
                       conversions_text(object_at(j, "conversions"))});
    for (const auto& [step, sv] : object_at(j, "steps"))
      steps.push_back({std::string(id), std::string(step), step_text(sv.as_object())});
    for (const auto& av : array_at(object_at(j, "results"), "arms")) {
      const auto& a = av.as_object();
      std::string uplift = "-";
      if (auto* u = a.if_contains("uplift"); u && u->is_object()) {
        const auto& ci = array_at(u->get_object(), "ci");
        uplift = number_text(u->get_object().at("diff")) + " [" + (ci.size() == 2 ? number_text(ci[0]) : "?") +
                 ", " + (ci.size() == 2 ? number_text(ci[1]) : "?") + "] p=" + number_text(u->get_object().at("p")) +
                 " vs " + text(u->get_object(), "vs");
      }
      arms.push_back({std::string(id), text(a, "arm"), number_text(a.at("entered")), number_text(a.at("converted")),
                      number_text(a.at("rate")), number_text(a.at("value")), number_text(a.at("value_per_entrant")),
                      uplift});
    }
  }
  print_table(out, {"journey", "step", "counts"}, steps);
  out << "\n";
  print_table(out, {"journey", "arm", "entered", "converted", "rate", "value", "value/entrant", "uplift (95% ci)"},
              arms);
}

void print_compare_text(std::ostream& out, const simulate::Comparison& cmp) {
  const json::object sa = cmp.a().summary(), sb = cmp.b().summary();
  out << "\ndeliveries: " << cmp.matched() << " in both, " << cmp.only_a() << " only in A, " << cmp.only_b()
      << " only in B\n\n";
  std::vector<Row> rows;
  for (const auto& r : simulate::counter_rows(sa.at("journeys").as_object(), sb.at("journeys").as_object())) {
    if (r.counter.rfind("results.", 0) == 0 && !r.differs())
      continue;  // unchanged rates and intervals are noise next to the counts
    rows.push_back({r.journey, r.counter, number_text(r.a), number_text(r.b), r.differs() ? "*" : ""});
  }
  print_table(out, {"journey", "counter", "a", "b", "differs"}, rows);
}

/// Reads `in` line by line into `feed`; bad lines are reported on stderr.
template <class Feed>
void feed_lines(std::istream& in, const std::string& name, Feed&& feed) {
  std::string line;
  uint64_t line_no = 0;
  int shown = 0;
  while (std::getline(in, line)) {
    ++line_no;
    auto error = feed(line);
    if (error && shown++ < kLineErrorsShown)
      std::cerr << name << ":" << line_no << ": " << error->code << ": " << error->message << "\n";
  }
  if (shown > kLineErrorsShown)
    std::cerr << name << ": " << (shown - kLineErrorsShown) << " more invalid lines\n";
}

int run_single(std::istream& in, const SimulateArgs& args, CatalogPtr cat, const simulate::Options& o, bool as_json) {
  auto& out = std::cout;
  simulate::Simulator sim(std::move(cat), o, [&](const Delivery& d) {
    if (as_json)
      out << json::serialize(d.to_json()) << "\n";
    else
      print_delivery_line(out, d, "");
  });
  feed_lines(in, args.events, [&](const std::string& line) { return sim.feed_line(line); });
  sim.run_out();
  if (as_json)
    out << json::serialize(sim.summary()) << "\n";
  else
    print_summary_text(out, sim.summary());
  out.flush();
  return sim.lines().invalid > 0 ? 1 : 0;
}

int run_compare(std::istream& in, const SimulateArgs& args, CatalogPtr a, CatalogPtr b, const simulate::Options& o,
                bool as_json) {
  auto& out = std::cout;
  simulate::Comparison cmp(std::move(a), std::move(b), o, [&](simulate::Side side, const Delivery& d) {
    const char* name = side == simulate::Side::a ? "a" : "b";
    if (as_json)
      out << json::serialize(json::object{{"only_in", name}, {"delivery", d.to_json()}}) << "\n";
    else
      print_delivery_line(out, d, side == simulate::Side::a ? "only A  " : "only B  ");
  });
  feed_lines(in, args.events, [&](const std::string& line) { return cmp.feed_line(line); });
  cmp.run_out();
  if (as_json)
    out << json::serialize(cmp.summary()) << "\n";
  else
    print_compare_text(out, cmp);
  out.flush();
  return cmp.a().lines().invalid > 0 ? 1 : 0;
}

}  // namespace

int cmd_simulate(const SimulateArgs& args) {
  auto config = load_config(args.config.value_or(kDefaultConfig), args.config.has_value());
  if (!config.ok()) {
    std::cerr << args.config.value_or(kDefaultConfig) << ": " << config.error().message << "\n";
    return 2;
  }
  auto a = load_journeys(args.journeys, *config);
  if (!a) {
    std::cerr << "simulate: --journeys " << a.error().message << "\n";
    return 2;
  }
  CatalogPtr b;
  if (args.compare) {
    auto loaded = load_journeys(*args.compare, *config);
    if (!loaded) {
      std::cerr << "simulate: --compare " << loaded.error().message << "\n";
      return 2;
    }
    b = *loaded;
  }
  simulate::Options o;
  o.fallback_start = static_cast<Millis>(::time(nullptr)) * 1000;
  if (args.start && !(o.start = parse_time("--start", *args.start)))
    return 2;
  if (args.until && !(o.until = parse_time("--until", *args.until)))
    return 2;
  if (o.start && o.until && *o.until < *o.start) {
    std::cerr << "simulate: --until is before --start\n";
    return 2;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.events != "-") {
    file.open(args.events, std::ios::binary);
    if (!file) {
      std::cerr << "simulate: cannot read " << args.events << "\n";
      return 1;
    }
    in = &file;
  }
  std::ios::sync_with_stdio(false);
  const bool as_json = args.json || !::isatty(STDOUT_FILENO);
  if (b)
    return run_compare(*in, args, *a, b, o, as_json);
  return run_single(*in, args, *a, o, as_json);
}

}  // namespace waymark::cli
