// `waymark simulate` as a user runs it (PRODUCT.md §2, §11): the real binary
// on folders and files; stdout (JSON lines when not a terminal) and stderr
// apart; exit codes 0, 1 (bad event lines, unreadable file), 2 (bad usage,
// invalid journeys); --compare; and the same deliveries and counts as a live
// node fed the same events on its manual clock.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <sstream>

#include "delivery_helpers.hpp"
#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/outbox.hpp"
#include "support/temp_dir.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

struct Output {
  int code = -1;
  std::vector<std::string> lines;  // stdout
  std::string err;                 // stderr
};

/// `waymark <args>` with stdout (a pipe: not a terminal) and stderr apart.
Output simulate(const TempDir& dir, const std::string& args) {
  Output o;
  const std::string err_path = dir / "stderr.txt";
  std::string cmd = std::string(WAYMARK_BIN) + " simulate " + args + " 2>" + err_path;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p)
    return o;
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    out.append(buf.data(), n);
  int status = ::pclose(p);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    o.lines.push_back(line);
  o.err = read_file(err_path);
  return o;
}

std::string folder(const TempDir& dir, const std::string& name, std::initializer_list<const char*> files) {
  const std::string path = dir / name;
  ::mkdir(path.c_str(), 0755);
  int i = 0;
  for (const char* f : files)
    write_file(path + "/" + std::to_string(i++) + ".json", f);
  return path;
}

/// Signed Up -> welcome -> exit (no reminder).
constexpr const char* kShortOnboarding = R"({
  "id": "onboarding", "name": "Onboarding", "owner": "t", "entry": {"event": "Signed Up"}, "start": "welcome",
  "steps": {"welcome": {"type": "send", "channel": "email", "template": "welcome", "next": "done"},
            "done": {"type": "exit"}}})";

const std::string kEvents =
  R"({"type":"identify","userId":"u1","timestamp":"2026-03-02T09:00:00Z","traits":{"email":"u1@x.org","first_name":"Ada"}})"
  "\n"
  R"({"type":"track","userId":"u1","event":"Signed Up","timestamp":"2026-03-02T10:00:00Z"})"
  "\n";

TEST(SimulateCli, PrintsEachDeliveryAsAFileProviderRecordThenTheCountsOnTheLastLine) {
  TempDir dir("waymark-sim-");
  auto journeys = folder(dir, "j", {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate, fixtures::kOnboardingJourney});
  write_file(dir / "events.ndjson", kEvents);
  auto r = simulate(dir, "--journeys " + journeys + " --events " + (dir / "events.ndjson"));
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 3u) << "two deliveries and the summary";
  // welcome at sign-up, reminder two days later (the wait on the virtual clock).
  const std::vector<std::pair<std::string, std::string>> want = {{"welcome", "2026-03-02T10:00:00.000Z"},
                                                                 {"reminder", "2026-03-04T10:00:00.000Z"}};
  for (size_t i = 0; i < 2; ++i) {
    auto rec = parse_json(r.lines[i]);
    ASSERT_TRUE(rec.is_object()) << r.lines[i];
    std::vector<std::string> keys;
    for (auto& kv : rec.as_object())
      keys.emplace_back(kv.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"id", "channel", "customer", "journey", "version", "key", "step",
                                              "template", "to", "content", "at"}));
    EXPECT_EQ(str_at(rec, "step"), want[i].first);
    EXPECT_EQ(str_at(rec, "at"), want[i].second);
    EXPECT_EQ(str_at(rec, "to"), "u1@x.org");
    EXPECT_EQ(str_at(rec, "id").size(), 33u);  // "d" + 32 hex digits
  }
  EXPECT_EQ(at_path(parse_json(r.lines[0]), "content.subject"), json::value("Welcome, Ada"));
  auto summary = parse_json(r.lines[2]);
  EXPECT_EQ(at_path(summary, "events.applied"), json::value(2));
  EXPECT_EQ(at_path(summary, "deliveries"), json::value(2));
  EXPECT_EQ(at_path(summary, "end"), json::value("2026-03-04T10:00:00.000Z"));
  EXPECT_EQ(at_path(summary, "journeys.onboarding.entered"), json::value(1));
  EXPECT_EQ(at_path(summary, "journeys.onboarding.steps.welcome.sent"), json::value(1));
  EXPECT_EQ(at_path(summary, "journeys.onboarding.steps.reminder.sent"), json::value(1));
  EXPECT_EQ(at_path(summary, "journeys.onboarding.results.arms"),
            parse_json(R"([{"arm":"all","entered":1,"converted":0,"rate":0.0,"value":0.0,"value_per_entrant":0.0,)"
                       R"("uplift":null},{"arm":"treated","entered":1,"converted":0,"rate":0.0,"value":0.0,)"
                       R"("value_per_entrant":0.0,"uplift":null}])"));
  EXPECT_EQ(r.err, "");

  // --json says the same; --until before the reminder leaves it pending.
  auto j = simulate(dir, "--json --journeys " + journeys + " --events " + (dir / "events.ndjson"));
  EXPECT_EQ(j.lines, r.lines);
  auto until = simulate(dir, "--journeys " + journeys + " --events " + (dir / "events.ndjson") +
                               " --until 2026-03-03T00:00:00Z");
  ASSERT_EQ(until.lines.size(), 2u) << until.err;
  EXPECT_EQ(at_path(parse_json(until.lines[1]), "timers.pending"), json::value(1));
}

TEST(SimulateCli, ExitCodesForBadJourneysBadUsageAndBadEventLines) {
  TempDir dir("waymark-sim-");
  auto good = folder(dir, "good", {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate, fixtures::kOnboardingJourney});
  write_file(dir / "events.ndjson", kEvents);
  const std::string events = " --events " + (dir / "events.ndjson");

  // An invalid journey: exit 2, each error with its file and path, nothing on stdout.
  auto bad = folder(dir, "bad", {fixtures::kWelcomeTemplate, R"({"id":"b","name":"B","entry":{"event":"X"},"start":"s",
    "steps":{"s":{"type":"wait","duration":"2 days","next":"nowhere"}}})"});
  auto r = simulate(dir, "--journeys " + bad + events);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.lines.empty());
  EXPECT_NE(r.err.find(bad + "/1.json: steps.s.duration"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad + "/1.json: steps.s.next"), std::string::npos) << r.err;

  EXPECT_EQ(simulate(dir, "--journeys " + (dir / "missing") + events).code, 2);
  EXPECT_EQ(simulate(dir, "--journeys " + good).code, 2) << "--events is required";
  EXPECT_EQ(simulate(dir, "--journeys " + good + events + " --start yesterday").code, 2);
  EXPECT_EQ(simulate(dir, "--journeys " + good + events + " --start 2026-03-02T00:00:00Z --until 2026-03-01T00:00:00Z")
              .code,
            2);
  EXPECT_EQ(simulate(dir, "--journeys " + good + " --events " + (dir / "none.ndjson")).code, 1);

  // A bad line: reported with its line number, the rest simulated, exit 1.
  write_file(dir / "mixed.ndjson", kEvents + "{not json\n" + R"({"type":"track","userId":"u2"})" + "\n");
  auto m = simulate(dir, "--journeys " + good + " --events " + (dir / "mixed.ndjson"));
  EXPECT_EQ(m.code, 1);
  EXPECT_NE(m.err.find("mixed.ndjson:3: bad_json"), std::string::npos) << m.err;
  EXPECT_NE(m.err.find("mixed.ndjson:4: missing_field"), std::string::npos) << m.err;
  ASSERT_EQ(m.lines.size(), 3u);
  EXPECT_EQ(at_path(parse_json(m.lines[2]), "events.invalid"), json::value(2));
}

TEST(SimulateCli, CompareShowsDeliveriesOnlyInOneSetAndTheCountersThatDiffer) {
  TempDir dir("waymark-sim-");
  auto a = folder(dir, "a", {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate, fixtures::kOnboardingJourney});
  auto b = folder(dir, "b", {fixtures::kWelcomeTemplate, kShortOnboarding});
  write_file(dir / "events.ndjson", kEvents);
  auto r = simulate(dir, "--journeys " + a + " --compare " + b + " --events " + (dir / "events.ndjson"));
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(r.lines.size(), 2u) << "the reminder only A sends, then the comparison";
  auto only = parse_json(r.lines[0]);
  EXPECT_EQ(str_at(only, "only_in"), "a");
  EXPECT_EQ(at_path(only, "delivery.step"), json::value("reminder"));
  EXPECT_EQ(at_path(only, "delivery.at"), json::value("2026-03-04T10:00:00.000Z"));
  auto cmp = parse_json(r.lines[1]);
  EXPECT_EQ(at_path(cmp, "differences.deliveries"), parse_json(R"({"only_a":1,"only_b":0,"matched":1})"));
  EXPECT_EQ(at_path(cmp, "a.deliveries"), json::value(2));
  EXPECT_EQ(at_path(cmp, "b.deliveries"), json::value(1));
  bool reminder_row = false;
  for (auto& row : array_at(at_path(cmp, "differences"), "counters"))
    if (str_at(row, "counter") == "steps.reminder.sent")
      reminder_row = at_path(row, "a") == json::value(1) && at_path(row, "b").is_null();
  EXPECT_TRUE(reminder_row) << r.lines[1];

  auto bad = folder(dir, "bad", {R"({"id":"x"})"});
  EXPECT_EQ(simulate(dir, "--journeys " + a + " --compare " + bad + " --events " + (dir / "events.ndjson")).code, 2);
}

/// Signed Up -> split (a | b) -> send ta | tb -> wait 1d -> exit; goal Order Completed.
constexpr const char* kTemplateA = R"({"id":"ta","channel":"email","subject":"A for {{traits.first_name|you}}","body":"a"})";
constexpr const char* kTemplateB = R"({"id":"tb","channel":"email","subject":"B","body":"b"})";
constexpr const char* kPromo = R"({"id":"promo","name":"P","entry":{"event":"Signed Up"},"start":"ab",
  "goal":{"event":"Order Completed","within":"7d","value":"properties.revenue"},
  "steps":{"ab":{"type":"split","variants":[{"name":"a","weight":50,"next":"sa"},{"name":"b","weight":50,"next":"sb"}]},
           "sa":{"type":"send","channel":"email","template":"ta","next":"wait"},
           "sb":{"type":"send","channel":"email","template":"tb","next":"wait"},
           "wait":{"type":"wait","duration":"1d","next":"done"},
           "done":{"type":"exit"}}})";

/// Steps' counters without the node's delivery outcomes (simulate sends nothing).
json::value without_delivery_outcomes(json::value stats) {
  if (auto* steps = stats.as_object().if_contains("steps"))
    for (auto& kv : steps->as_object())
      kv.value().as_object().erase("delivery");
  return stats;
}

TEST(SimulateCli, GivesTheSameDeliveriesAndCountsAsALiveNodeOnItsManualClock) {
  TempDir dir("waymark-sim-");
  const std::vector<const char*> files = {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate,
                                          fixtures::kOnboardingJourney, kTemplateA, kTemplateB, kPromo};
  // Events in time order, and the instants the timers are due (by hand: the
  // waits end 2d / 1d after each sign-up). The node's clock is set to each.
  const std::vector<std::pair<std::string, std::string>> script = {
    {"2030-03-02T09:00:00Z", R"({"type":"identify","userId":"c1","traits":{"email":"c1@x.org","first_name":"Ada"}})"},
    {"2030-03-02T10:00:00Z", R"({"type":"track","userId":"c1","event":"Signed Up"})"},
    {"2030-03-02T11:00:00Z", R"({"type":"identify","userId":"c3","traits":{"email":"c3@x.org"}})"},
    // Anonymous: both journeys enter, both sends are suppressed (no address yet).
    {"2030-03-02T11:30:00Z", R"({"type":"track","anonymousId":"anon-1","event":"Signed Up"})"},
    // The merge moves both instances and their timers to c3.
    {"2030-03-02T13:00:00Z", R"({"type":"alias","previousId":"anon-1","userId":"c3"})"},
    // promo's goal for the moved instance (value 30); its wait timer goes.
    {"2030-03-02T14:00:00Z", R"({"type":"track","userId":"c3","event":"Order Completed","properties":{"revenue":30}})"},
    {"2030-03-03T10:00:00Z", ""},  // c1's promo wait ends
    {"2030-03-04T10:00:00Z", ""},  // c1's onboarding reminder
    {"2030-03-04T11:30:00Z", ""},  // the reminder of anon-1's instance, now c3's
  };

  Node node;
  ::mkdir(node.journeys_dir().c_str(), 0755);
  std::string events;
  for (size_t i = 0; i < files.size(); ++i)
    write_file(node.journeys_dir() + "/" + std::to_string(i) + ".json", files[i]);
  ASSERT_TRUE(node.start());
  for (const auto& [t, line] : script) {
    auto set = node.post("/api/clock", R"({"set":")" + t + R"("})");
    ASSERT_EQ(set.status, 200) << set.describe();
    if (line.empty())
      continue;
    ASSERT_TRUE(delivery::send_all_acked(node, {line}));
    auto stamped = parse_json(line);
    stamped.as_object()["timestamp"] = t;
    events += json::serialize(stamped) + "\n";
  }
  ASSERT_TRUE(node.wait_outbox_drained());
  const auto outbox = read_outbox(node.data_dir(), "email");
  // c1: welcome, its promo variant, reminder; c3: the moved instance's reminder.
  ASSERT_EQ(outbox.records.size(), 4u);

  write_file(dir / "events.ndjson", events);
  auto r = simulate(dir, "--journeys " + node.journeys_dir() + " --events " + (dir / "events.ndjson"));
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(r.lines.size(), outbox.records.size() + 1);
  for (size_t i = 0; i < outbox.records.size(); ++i)
    EXPECT_EQ(parse_json(r.lines[i]), json::value(outbox.records[i])) << i;
  auto summary = parse_json(r.lines.back());
  for (const char* id : {"onboarding", "promo"}) {
    auto live = parse_json(node.get(std::string("/api/journeys/") + id).body);
    auto sim = at_path(summary, std::string("journeys.") + id);
    auto results = parse_json(node.get(std::string("/api/journeys/") + id + "/results").body);
    EXPECT_EQ(sim.as_object()["results"], results) << id;
    sim.as_object().erase("results");
    EXPECT_EQ(sim, without_delivery_outcomes(at_path(live, "stats"))) << id << "\nlive " << json::serialize(live);
  }
}

}  // namespace
}  // namespace waymark::it
