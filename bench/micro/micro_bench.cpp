// Micro benchmarks of the hot path's pure pieces (issue #5, bench/README.md):
// event parsing and validation, condition evaluation, one engine step per event
// over the sample journey mix, template rendering, and a Store commit of N
// customer writes into a real LMDB environment in a temporary directory.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "waymark/condition.hpp"
#include "waymark/engine.hpp"
#include "waymark/event.hpp"
#include "waymark/journey.hpp"
#include "waymark/recovery.hpp"
#include "waymark/store.hpp"
#include "waymark/template.hpp"

#ifndef WAYMARK_SOURCE_DIR
#define WAYMARK_SOURCE_DIR "."
#endif

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace waymark;

constexpr Millis kNow = 1795000000000;  // 2026-11-18, any fixed instant works
constexpr Millis kDay = 86400000;

const char* kTrack =
    R"({"type":"track","userId":"c12345","messageId":"r1-77","event":"Product Added",)"
    R"("properties":{"cart_id":"kc12345-0","total":42.5}})";
const char* kIdentify =
    R"({"type":"identify","userId":"c12345","messageId":"r1-78","traits":{"first_name":"Ann","plan":"trial",)"
    R"("email":"c12345@example.com","phone":"+4915100123"}})";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- parse_event -------------------------------------------------------------------

void BM_ParseEvent(benchmark::State& state, const char* text) {
  Limits limits;
  for (auto _ : state) {
    auto e = parse_event(text, limits, kNow);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(std::strlen(text)));
}
BENCHMARK_CAPTURE(BM_ParseEvent, track, kTrack);
BENCHMARK_CAPTURE(BM_ParseEvent, identify, kIdentify);

// ---- condition evaluation -------------------------------------------------------------

VecDeque<HistoryEntry> make_history(size_t n) {
  VecDeque<HistoryEntry> h;
  for (size_t i = 0; i < n; ++i)
    h.push_back(HistoryEntry{i % 3 ? "Page Viewed" : "Feature Used", kNow - static_cast<Millis>(n - i) * 3600000, {}});
  return h;
}

void BM_EvaluateCondition(benchmark::State& state, const char* text) {
  std::vector<ValidationError> errors;
  ConditionPtr c = parse_condition(json::parse(text), "when", errors);
  if (!c) {
    state.SkipWithError("condition did not parse");
    return;
  }
  json::object traits{{"plan", "trial"}, {"first_name", "Ann"}, {"country", "DE"}};
  json::object props{{"cart_id", "k1"}, {"total", 42.5}};
  std::string name = "Product Added";
  auto history = make_history(static_cast<size_t>(state.range(0)));
  EvalContext ctx{&traits, &name, &props, nullptr, &history, kNow};
  for (auto _ : state)
    benchmark::DoNotOptimize(evaluate(*c, ctx));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_EvaluateCondition, compare_all,
                  R"({"all":[{"path":"traits.plan","op":"eq","value":"trial"},)"
                  R"({"path":"event.properties.total","op":"gte","value":10}]})")
    ->Arg(0);
BENCHMARK_CAPTURE(BM_EvaluateCondition, count_7d,
                  R"({"count":{"event":"Feature Used","within":"7d"},"op":"gte","value":3})")
    ->Arg(50)
    ->Arg(200);

// ---- engine: one event through the 3-journey mix ------------------------------------------

const char* kFeatureJourney = R"({"id":"feature-adoption","name":"Feature adoption","owner":"bench",
 "entry":{"event":"Feature Used"},"reentry":{"mode":"after_exit"},"start":"mark",
 "steps":{"mark":{"type":"update","set":{"traits.adopted":"yes"},"next":"wait"},
          "wait":{"type":"wait","duration":"1d","next":"done"},
          "done":{"type":"exit"}}})";

// The sample journeys and templates of config/journeys plus the bench's third journey.
Catalog make_catalog() {
  Catalog cat;
  for (const char* ch : {"email", "sms", "push", "webhook", "inapp"})
    cat.channels[ch] = ChannelPolicy{ch, std::string(ch) == "email" ? "email" : std::string(ch) == "sms" ? "phone" : "",
                                     std::string(ch) == "email", std::nullopt, std::nullopt};
  std::vector<std::string> journeys = {kFeatureJourney};
  for (auto& f : fs::directory_iterator(std::string(WAYMARK_SOURCE_DIR) + "/config/journeys")) {
    std::string name = f.path().filename().string();
    std::vector<ValidationError> errors;
    if (name.find(".template.json") != std::string::npos) {
      if (TemplatePtr t = parse_template(json::parse(read_text(f.path().string())), errors))
        cat.templates[t->id] = t;
    } else if (name.find(".journey.json") != std::string::npos) {
      journeys.push_back(read_text(f.path().string()));
    }
  }
  ValidationContext ctx;
  ctx.channels = {"email", "sms", "push", "webhook", "inapp"};
  for (auto& text : journeys) {
    std::vector<ValidationError> errors;
    JourneyPtr parsed = parse_journey(json::parse(text), ctx, errors);
    if (!parsed)
      continue;
    auto j = std::make_shared<Journey>(*parsed);
    JourneyEntry& entry = cat.journeys[j->id];
    j->version = 1;
    entry.versions.push_back(j);
  }
  return cat;
}

Event track_event(const std::string& name, json::object props) {
  Event e;
  e.type = EventType::track;
  e.user_id = "c1";
  e.name = name;
  e.timestamp = kNow;
  e.properties = std::move(props);
  return e;
}

// A customer that already went through identify, a trial and a cart, then
// receives `name`: the steady-state cost of an event for a known customer.
void BM_EngineOnEvent(benchmark::State& state, const char* name) {
  Catalog cat = make_catalog();
  if (cat.journeys.size() != 3) {
    state.SkipWithError("expected 3 journeys");
    return;
  }
  CustomerState s;
  s.id = "c1";
  Event id;
  id.type = EventType::identify;
  id.user_id = "c1";
  id.timestamp = kNow;
  id.traits = json::object{{"first_name", "Ann"}, {"plan", "trial"}, {"email", "c1@example.com"}};
  on_event(s, cat, id, kNow);
  on_event(s, cat, track_event("Trial Started", {{"trial_id", "t1"}}), kNow);
  on_event(s, cat, track_event("Product Added", {{"cart_id", "k1"}, {"total", 42.5}}), kNow);
  on_event(s, cat, track_event("Feature Used", {{"feature", "reports"}}), kNow);
  Event e = track_event(name, {{"path", "/pricing"}});
  for (auto _ : state) {
    Decision d = on_event(s, cat, e, kNow);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["instances"] = static_cast<double>(s.instances.size());
}
BENCHMARK_CAPTURE(BM_EngineOnEvent, page_viewed, "Page Viewed");
BENCHMARK_CAPTURE(BM_EngineOnEvent, feature_used, "Feature Used");

// A customer after a trial start and 20 page views (~2.6 KB of state JSON).
CustomerState serialize_bench_state() {
  Catalog cat = make_catalog();
  CustomerState s;
  s.id = "c1";
  on_event(s, cat, track_event("Trial Started", {{"trial_id", "t1"}}), kNow);
  for (int i = 0; i < 20; ++i)
    on_event(s, cat, track_event("Page Viewed", {{"path", "/pricing"}}), kNow);
  return s;
}

// Serialising the state through a DOM: json::serialize(to_json(s)), what every event paid before serialize_state.
void BM_CustomerStateToJson(benchmark::State& state) {
  CustomerState s = serialize_bench_state();
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = json::serialize(to_json(s));
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["state_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_CustomerStateToJson);

// The same document written directly (serialize_state, the store's per-event write).
void BM_CustomerStateSerializeDirect(benchmark::State& state) {
  CustomerState s = serialize_bench_state();
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = serialize_state(s);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["state_bytes"] = static_cast<double>(bytes);
  state.counters["reserved_bytes"] = static_cast<double>(serialize_state(s).capacity());
}
BENCHMARK(BM_CustomerStateSerializeDirect);

// Heap held per live customer: mallinfo2 (main arena, in-use bytes incl. malloc's headers)
// before and after building 1000 states with the engine and keeping them alive together, and
// sizeof(CustomerState). The memory target is 1M live customers in 1.5 GB.
void BM_CustomerStateMemory(benchmark::State& state, int events) {
  Catalog cat = make_catalog();
  Event id;
  id.type = EventType::identify;
  id.user_id = "c1";
  id.timestamp = kNow;
  id.traits = json::object{{"first_name", "Ann"}, {"plan", "trial"}, {"email", "c1@example.com"}};
  std::vector<Event> mix = {id, track_event("Trial Started", {{"trial_id", "t1"}}),
                            track_event("Product Added", {{"cart_id", "k1"}, {"total", 42.5}}),
                            track_event("Feature Used", {{"feature", "reports"}})};
  while (mix.size() < static_cast<size_t>(events))
    mix.push_back(track_event("Page Viewed", {{"path", "/pricing"}}));
  mix.resize(static_cast<size_t>(events));
  constexpr int kStates = 1000;
  double per_state = 0;
  for (auto _ : state) {
    std::vector<CustomerState> states;
    states.reserve(kStates);
    const size_t before = mallinfo2().uordblks;
    for (int n = 0; n < kStates; ++n) {
      CustomerState s;
      s.id = "c" + std::to_string(n);  // short: no heap of its own
      for (const Event& e : mix)
        on_event(s, cat, e, kNow);
      states.push_back(std::move(s));
    }
    per_state = static_cast<double>(mallinfo2().uordblks - before) / kStates;
  }
  state.counters["heap_bytes_per_state"] = per_state;
  state.counters["sizeof_state"] = static_cast<double>(sizeof(CustomerState));
}
BENCHMARK_CAPTURE(BM_CustomerStateMemory, empty, 0)->Iterations(1);
BENCHMARK_CAPTURE(BM_CustomerStateMemory, events_1, 1)->Iterations(1);
BENCHMARK_CAPTURE(BM_CustomerStateMemory, events_4, 4)->Iterations(1);
BENCHMARK_CAPTURE(BM_CustomerStateMemory, events_24, 24)->Iterations(1);
BENCHMARK_CAPTURE(BM_CustomerStateMemory, events_250, 250)->Iterations(1);

// ---- template rendering -------------------------------------------------------------------

void BM_RenderTemplate(benchmark::State& state) {
  std::vector<ValidationError> errors;
  TemplatePtr t = parse_template(json::parse(read_text(std::string(WAYMARK_SOURCE_DIR) +
                                                       "/config/journeys/cart_reminder.template.json")),
                                 errors);
  if (!t) {
    state.SkipWithError("template did not parse");
    return;
  }
  json::object traits{{"first_name", "Ann <&>"}, {"email", "a@b.c"}};
  json::object entry = track_event("Product Added", {{"cart_id", "k1"}, {"total", 42.5}}).to_json();
  RenderContext ctx{&traits, &entry, nullptr};
  for (auto _ : state) {
    RenderResult r = render(*t, ctx, true);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderTemplate);

// ---- Store::commit of N customer writes (real LMDB, fsync on commit) ---------------------------

void BM_StoreCommit(benchmark::State& state) {
  char tmpl[] = "/tmp/waymark-micro-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  {
    auto opened = Store::open(tmpl, 4096);
    if (!opened) {
      state.SkipWithError("Store::open failed");
      return;
    }
    auto& store = *opened.value();
    // A realistic state document: a customer after a few events of the mix.
    Catalog cat = make_catalog();
    CustomerState s;
    s.id = "c1";
    on_event(s, cat, track_event("Feature Used", {{"feature", "reports"}}), kNow);
    for (int i = 0; i < 5; ++i)
      on_event(s, cat, track_event("Page Viewed", {{"path", "/pricing"}}), kNow);
    std::string state_json = json::serialize(to_json(s));
    const std::string input = encode_event_input(track_event("Page Viewed", {{"path", "/pricing"}}), kNow, 1);
    const int64_t n = state.range(0);
    const bool logged = state.range(1) != 0;
    uint64_t seq = 0;
    for (auto _ : state) {
      state.PauseTiming();
      Batch b;
      b.customers.reserve(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i, ++seq) {
        CustomerWrite w;
        w.customer = "c" + std::to_string(seq * 2654435761u % 1000003);  // random-ish keys, ~1M space
        if (logged) {
          // The input log: the event appended, the state stored later.
          w.log_input = input;
          w.stored = CustomerWrite::Stored::yes;
        } else {
          w.state_json = state_json;
          w.dedup_ids = {{"m" + std::to_string(seq), kNow}};
        }
        b.customers.push_back(std::move(w));
      }
      state.ResumeTiming();
      auto r = store.commit(b);
      if (!r) {
        state.SkipWithError("commit failed");
        break;
      }
    }
    state.SetItemsProcessed(state.iterations() * n);
    state.counters["bytes"] = static_cast<double>(logged ? input.size() : state_json.size());
  }
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}
// Second argument: 0 = the whole state and a dedup key per write (a snapshot,
// or every write before the input log), 1 = one input appended to the log.
BENCHMARK(BM_StoreCommit)
  ->ArgsProduct({{1, 64, 1024, 8192}, {0, 1}})
  ->ArgNames({"writes", "logged"})
  ->Unit(benchmark::kMicrosecond)
  ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
