// The input log through the real binary (store.hpp, "The input log"): a
// customer's state is stored only now and then, its inputs in between are
// logged. What a client can see must not depend on that: the live state
// before a kill -9 is the state recovered after it (across a deploy and a
// template change, so replay must use the catalog each input ran on), and a
// passivated customer comes back with every input.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/outbox.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

/// What GET /api/customers/{id} shows that the state decides (delivery
/// statuses change as the channel gateway works, so they are left out).
std::string view(Node& node, const std::string& id) {
  auto r = node.customer(id);
  if (r.status != 200)
    return "HTTP " + std::to_string(r.status) + ": " + r.body;
  auto v = r.json();
  json::object o;
  for (const char* key : {"profile", "instances", "history", "trace"})
    o[key] = at_path(v, key);
  json::array deliveries;
  for (const auto& d : array_at(v, "deliveries"))
    deliveries.push_back(json::array{json::string(str_at(d, "id")), json::string(str_at(d, "step"))});
  o["deliveries"] = std::move(deliveries);
  return json::serialize(o);
}

int64_t stat(Node& node, const std::string& key) { return int_at(node.get("/api/stats").json(), key); }

TEST(InputLog, TheLiveStatesBeforeAKillNineAreTheRecoveredStatesAfterItAcrossADeploy) {
  NodeOptions options;
  options.config = json::object{{"limits", json::object{{"snapshot_every", 1000}}}};
  Node node(options);
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node.deploy_template(fixtures::kReminderTemplate).status, 201);
  ASSERT_EQ(node.deploy_journey(fixtures::kOnboardingJourney).status, 201);

  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  uint64_t lines = 0;
  auto send = [&](const std::string& line) {
    ASSERT_TRUE(c.send_line(line)) << c.last_error();
    ++lines;
  };
  for (int i = 0; i < 10; ++i) {
    auto id = "c" + std::to_string(i);
    send(identify(id, {{"email", id + "@example.com"}, {"first_name", "F" + std::to_string(i)}}, "i-" + id));
    send(track(id, "Signed Up", {}, "s-" + id));
    send(track(id, "Page Viewed", {{"path", "/a"}}, "p1-" + id));
  }
  ASSERT_TRUE(c.wait_ack(lines)) << c.transcript();
  ASSERT_EQ(node.advance_clock("1d").status, 200);

  // Version 2 waits 3 days; the welcome template changes: inputs from here on
  // run on a later catalog generation than the ones before.
  auto v2 = parse_json(fixtures::kOnboardingJourney);
  v2.as_object()["steps"].as_object()["wait2d"].as_object()["duration"] = "3d";
  ASSERT_EQ(node.deploy_journey(json::serialize(v2)).status, 201);
  auto welcome = parse_json(fixtures::kWelcomeTemplate);
  welcome.as_object()["subject"] = "Hi {{traits.first_name|you}}, version two";
  ASSERT_EQ(node.deploy_template(json::serialize(welcome)).status, 201);
  for (int i = 5; i < 15; ++i) {
    auto id = "c" + std::to_string(i);
    if (i >= 10)
      send(identify(id, {{"email", id + "@example.com"}}, "i-" + id));
    send(track(id, "Signed Up", {}, "s2-" + id));
    send(track(id, "Page Viewed", {{"path", "/b"}}, "p2-" + id));
  }
  ASSERT_TRUE(c.wait_ack(lines)) << c.transcript();
  ASSERT_EQ(node.advance_clock("36h").status, 200);  // v1 waits (2d) fire; v2 waits (3d) do not
  ASSERT_TRUE(c.nacks().empty()) << c.transcript();
  // Quiet first: final delivery statuses become events ("Message Delivered").
  ASSERT_TRUE(node.wait_outbox_drained());

  std::map<std::string, std::string> before;
  for (int i = 0; i < 15; ++i)
    before["c" + std::to_string(i)] = view(node, "c" + std::to_string(i));
  ASSERT_GT(stat(node, "log_records"), 0) << "nothing was logged: the test would not exercise replay";
  node.kill9();

  ASSERT_TRUE(node.restart());
  EXPECT_NE(node.logs(16384).find("[recovery]"), std::string::npos) << node.logs();
  for (auto& [id, v] : before)
    EXPECT_EQ(view(node, id), v) << id;

  // The timers set before the crash still fire once each, on their version.
  ASSERT_EQ(node.advance_clock("2d").status, 200);
  ASSERT_TRUE(node.wait_outbox_drained());
  auto o = read_outbox(node.data_dir(), "email");
  EXPECT_TRUE(o.duplicate_ids().empty());
  std::map<std::string, int> reminders;
  for (const auto& r : o.where("step", "reminder"))
    ++reminders[field(r, "customer")];
  for (int i = 0; i < 15; ++i)
    EXPECT_GE(reminders["c" + std::to_string(i)], 1) << "c" << i << " never got its reminder";
}

TEST(InputLog, PassivatedCustomersStoreTheirStateAndComeBackWithEveryInput) {
  constexpr int kCustomers = 300;
  NodeOptions options;
  options.config = json::object{
    {"limits", json::object{{"live_customers_max", 16}, {"snapshot_every", 1000}}},
    {"cluster", json::object{{"partitions", 1}}}};  // one manager: a live cap of 16
  Node node(options);
  ASSERT_TRUE(node.start());
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  for (int i = 0; i < kCustomers; ++i) {
    auto id = "p" + std::to_string(i);
    ASSERT_TRUE(c.send_line(identify(id, {{"n", i}}, "i-" + id)));
    ASSERT_TRUE(c.send_line(track(id, "Page Viewed", {{"n", i}}, "a-" + id)));
    ASSERT_TRUE(c.send_line(track(id, "Page Viewed", {{"n", i + 1}}, "b-" + id)));
  }
  ASSERT_TRUE(c.wait_ack(3 * kCustomers)) << c.transcript();
  ASSERT_TRUE(c.nacks().empty()) << c.transcript();
  // Over the cap, idle actors passivate on the next dispatch or the 2 s sweep.
  for (int polls = 0; polls < 500 && stat(node, "customers_passivated") == 0; ++polls)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GT(stat(node, "customers_passivated"), 0) << "nothing passivated: the test would not exercise it";
  EXPECT_EQ(stat(node, "customers_known"), kCustomers);

  auto check_all = [&](const char* when) {
    for (int i = 0; i < kCustomers; ++i) {
      auto id = "p" + std::to_string(i);
      auto r = node.customer(id);
      ASSERT_EQ(r.status, 200) << when << " " << id << ": " << r.describe();
      EXPECT_EQ(array_at(r.json(), "history").size(), 3u) << when << " " << id << ": " << r.body;
    }
  };
  check_all("live or passivated");
  // A resent line is still a duplicate, whether its customer is live or not.
  ASSERT_TRUE(c.send_line(track("p0", "Page Viewed", {{"n", 0}}, "a-p0")));
  ASSERT_TRUE(c.send_line(track("p299", "Page Viewed", {{"n", 299}}, "a-p299")));
  ASSERT_TRUE(c.wait_ack(3 * kCustomers + 2)) << c.transcript();
  EXPECT_EQ(stat(node, "events_deduplicated"), 2);
  node.kill9();
  ASSERT_TRUE(node.restart());
  check_all("after kill -9");
}

TEST(InputLog, PastLogRecordsMaxTheOldestCustomersStoreTheirStatesAndTheLogIsTrimmed) {
  constexpr int kCustomers = 40, kEach = 60;
  NodeOptions options;
  options.config = json::object{{"limits", json::object{{"snapshot_every", 4096}, {"log_records_max", 1024}}}};
  Node node(options);
  ASSERT_TRUE(node.start());
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  for (int n = 0; n < kEach; ++n) {
    for (int i = 0; i < kCustomers; ++i)
      ASSERT_TRUE(c.send_line(track("q" + std::to_string(i), "Page Viewed", {{"n", n}})));
    c.drain_available();
  }
  ASSERT_TRUE(c.wait_ack(kCustomers * kEach)) << c.transcript();
  // Without snapshots the log would hold all 2,400 inputs; past 1,024 the store
  // asks the oldest customers to store their state, and trims behind them.
  int64_t records = stat(node, "log_records");
  for (int polls = 0; polls < 500 && records > 1024; ++polls) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(c.send_line(track("trigger", "Ping", {})));  // a commit trims
    records = stat(node, "log_records");
  }
  EXPECT_LE(records, 1024);
  for (int i = 0; i < kCustomers; ++i)
    EXPECT_EQ(array_at(node.customer("q" + std::to_string(i)).json(), "history").size(), size_t{kEach});
  node.kill9();
  ASSERT_TRUE(node.restart());
  EXPECT_EQ(stat(node, "log_records"), 0) << "recovery covers every input with a snapshot";
  for (int i = 0; i < kCustomers; ++i)
    EXPECT_EQ(array_at(node.customer("q" + std::to_string(i)).json(), "history").size(), size_t{kEach});
}

}  // namespace
}  // namespace waymark::it
