// Durability through the real binary: kill -9 after acks and in the middle of
// a stream, restart on the same LMDB data directory, and check that nothing
// acknowledged is lost and nothing is delivered twice.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/outbox.hpp"
#include "support/tcp_client.hpp"
#include "waymark/store.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

::testing::AssertionResult deployed(const HttpResponse& r) {
  if (r.status == 201)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.describe();
}

std::string customer_id(int i) { return "c" + std::to_string(i); }

// Every record of `journey`/`step` per customer.
std::map<std::string, int> per_customer(const Outbox& o, const std::string& step) {
  std::map<std::string, int> n;
  for (const auto& r : o.where("step", step))
    ++n[field(r, "customer")];
  return n;
}

::testing::AssertionResult exactly_once_each(const Outbox& o, const std::string& step, int customers) {
  auto n = per_customer(o, step);
  for (int i = 0; i < customers; ++i)
    if (n[customer_id(i)] != 1)
      return ::testing::AssertionFailure() << customer_id(i) << " has " << n[customer_id(i)] << " '" << step
                                           << "' deliveries, expected exactly 1";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult no_duplicates(const Outbox& o) {
  if (!o.bad_lines.empty())
    return ::testing::AssertionFailure() << "torn or invalid outbox line: " << o.bad_lines.front();
  auto d = o.duplicate_ids();
  if (!d.empty())
    return ::testing::AssertionFailure() << d.size() << " delivery ids written more than once, e.g. " << d.front();
  return ::testing::AssertionSuccess();
}

TEST(Crash, AcknowledgedProfilesInstancesAndTimersSurviveKillNine) {
  constexpr int kCustomers = 20;
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deployed(node.deploy_template(fixtures::kWelcomeTemplate)));
  ASSERT_TRUE(deployed(node.deploy_template(fixtures::kReminderTemplate)));
  ASSERT_TRUE(deployed(node.deploy_journey(fixtures::kOnboardingJourney)));

  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  for (int i = 0; i < kCustomers; ++i) {
    auto id = customer_id(i);
    ASSERT_TRUE(c.send_line(identify(id, {{"email", id + "@example.com"}, {"first_name", "C" + std::to_string(i)}},
                                     "id-" + id)));
    ASSERT_TRUE(c.send_line(track(id, "Signed Up", {}, "su-" + id)));
  }
  ASSERT_TRUE(c.wait_ack(2 * kCustomers)) << c.transcript();
  node.kill9();  // right after the last ack: deliveries may still be in flight
  ASSERT_TRUE(c.nacks().empty()) << c.transcript();

  ASSERT_TRUE(node.restart());
  for (int i = 0; i < kCustomers; ++i) {
    auto id = customer_id(i);
    auto r = node.customer(id);
    ASSERT_EQ(r.status, 200) << id << ": " << r.describe();
    auto cj = r.json();
    EXPECT_EQ(at_path(cj, "profile.traits.email"), json::value(id + "@example.com")) << r.body;
    EXPECT_EQ(at_path(cj, "profile.traits.first_name"), json::value("C" + std::to_string(i))) << r.body;
    auto instances = array_at(cj, "instances");
    ASSERT_EQ(instances.size(), 1u) << r.body;
    EXPECT_EQ(str_at(instances[0], "journey"), "onboarding") << r.body;
    EXPECT_EQ(str_at(instances[0], "step"), "wait2d") << r.body;
    EXPECT_EQ(int_at(instances[0], "version"), 1) << r.body;
  }
  ASSERT_TRUE(node.wait_outbox_drained());
  auto o = read_outbox(node.data_dir(), "email");
  EXPECT_TRUE(no_duplicates(o));
  EXPECT_TRUE(exactly_once_each(o, "welcome", kCustomers)) << "acked deliveries lost or repeated by the crash";
  EXPECT_EQ(per_customer(o, "reminder").size(), 0u) << "a 2d wait fired early";

  ASSERT_EQ(node.advance_clock("2d").status, 200);
  ASSERT_TRUE(node.wait_outbox_drained());
  ASSERT_EQ(node.advance_clock("2d").status, 200);  // a second pass must not fire them again
  ASSERT_TRUE(node.wait_outbox_drained());
  o = read_outbox(node.data_dir(), "email");
  EXPECT_TRUE(no_duplicates(o));
  EXPECT_TRUE(exactly_once_each(o, "welcome", kCustomers));
  EXPECT_TRUE(exactly_once_each(o, "reminder", kCustomers)) << "each recovered wait fires exactly once";

  // Every delivery a customer remembers is in the outbox exactly once.
  auto ids = o.id_counts();
  for (int i = 0; i < kCustomers; ++i)
    for (const auto& d : array_at(node.customer(customer_id(i)).json(), "deliveries"))
      EXPECT_EQ(ids[str_at(d, "id")], 1) << customer_id(i) << " delivery " << json::serialize(d);
}

// Lines 1..kUsers identify the users; line L > kUsers is "Order Placed" with
// order_id "o<L>" for user u<L % kUsers>; messageIds are stable per line.
constexpr int kUsers = 50;
constexpr int kLines = 5000;

std::vector<std::string> order_stream() {
  std::vector<std::string> lines;
  for (int l = 1; l <= kLines; ++l) {
    auto user = "u" + std::to_string(l % kUsers);
    if (l <= kUsers)
      lines.push_back(identify(user, {{"email", user + "@example.com"}}, "m-" + std::to_string(l)));
    else
      lines.push_back(track(user, "Order Placed", {{"order_id", "o" + std::to_string(l)}, {"seq", l}},
                            "m-" + std::to_string(l)));
  }
  return lines;
}

// Sends the stream, and kills the node as soon as an ack >= `kill_at` arrives.
// Returns the highest ack received before the kill.
uint64_t stream_and_kill(Node& node, const std::vector<std::string>& lines, uint64_t kill_at) {
  TcpClient c;
  if (!c.connect(node.tcp_port())) {
    ADD_FAILURE() << c.last_error();
    return 0;
  }
  for (size_t i = 0; i < lines.size() && c.acked() < kill_at; ++i) {
    if (!c.send_line(lines[i])) {
      ADD_FAILURE() << "send failed at line " << i + 1 << ": " << c.last_error();
      return 0;
    }
    if (i % 100 == 99)
      c.drain_available();
  }
  EXPECT_TRUE(c.wait_ack(kill_at, 20000)) << c.transcript();
  uint64_t acked = c.acked();
  node.kill9();
  EXPECT_TRUE(c.nacks().empty()) << c.transcript();
  return acked;
}

TEST(Crash, KillNineMidStreamLosesNothingAcknowledgedAndAResendDeliversNothingTwice) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deployed(node.deploy_template(fixtures::kReceiptTemplate)));
  ASSERT_TRUE(deployed(node.deploy_journey(fixtures::kReceiptJourney)));

  const auto lines = order_stream();
  const uint64_t acked = stream_and_kill(node, lines, 1500);
  ASSERT_GE(acked, 1500u);
  std::printf("[ info ] killed the node after ack %llu of %d\n", static_cast<unsigned long long>(acked), kLines);

  ASSERT_TRUE(node.restart());
  ASSERT_TRUE(node.wait_outbox_drained());
  auto o = read_outbox(node.data_dir(), "email");
  EXPECT_TRUE(no_duplicates(o));
  std::set<std::string> keys;
  for (const auto& r : o.records)
    keys.insert(field(r, "key"));
  int missing = 0;
  for (uint64_t l = kUsers + 1; l <= acked; ++l)
    missing += keys.count("o" + std::to_string(l)) ? 0 : 1;
  EXPECT_EQ(missing, 0) << "acknowledged orders with no receipt after the restart (acked " << acked << ")";

  TcpClient again;
  ASSERT_TRUE(again.connect(node.tcp_port()));
  for (const auto& l : lines)
    ASSERT_TRUE(again.send_line(l)) << again.last_error();
  ASSERT_TRUE(again.wait_ack(kLines, 30000)) << again.transcript();
  EXPECT_TRUE(again.nacks().empty()) << again.transcript();
  ASSERT_TRUE(node.wait_outbox_drained());

  o = read_outbox(node.data_dir(), "email");
  EXPECT_TRUE(no_duplicates(o));
  std::map<std::string, int> per_key;
  for (const auto& r : o.records)
    ++per_key[field(r, "key")];
  int wrong = 0;
  std::string example;
  for (int l = kUsers + 1; l <= kLines; ++l) {
    int n = per_key["o" + std::to_string(l)];
    if (n != 1 && ++wrong == 1)
      example = "o" + std::to_string(l) + " x" + std::to_string(n);
  }
  EXPECT_EQ(wrong, 0) << "orders without exactly one receipt, e.g. " << example;
  EXPECT_EQ(o.records.size(), static_cast<size_t>(kLines - kUsers));

  // History holds each order once even though every line was sent twice.
  auto cj = node.customer("u7").json();
  std::map<int64_t, int> seqs;
  for (const auto& h : array_at(cj, "history"))
    if (str_at(h, "name") == "Order Placed")
      ++seqs[int_at(at_path(h, "properties"), "seq")];
  for (const auto& [seq, n] : seqs)
    EXPECT_EQ(n, 1) << "order line " << seq << " is in the history " << n << " times";
}

TEST(Crash, GracefulStopExitsZeroAndARestartKeepsStateAndTimers) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deployed(node.deploy_template(fixtures::kWelcomeTemplate)));
  ASSERT_TRUE(deployed(node.deploy_template(fixtures::kReminderTemplate)));
  ASSERT_TRUE(deployed(node.deploy_journey(fixtures::kOnboardingJourney)));
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  ASSERT_TRUE(c.send_line(identify("g1", {{"email", "g1@example.com"}})));
  ASSERT_TRUE(c.send_line(track("g1", "Signed Up", {}, "g1-su")));
  ASSERT_TRUE(c.wait_ack(2)) << c.transcript();

  EXPECT_EQ(node.terminate(), 0) << "SIGTERM should stop the node cleanly";
  ASSERT_TRUE(node.restart());
  auto r = node.customer("g1");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(at_path(r.json(), "profile.traits.email"), json::value("g1@example.com"));
  ASSERT_EQ(node.advance_clock("2d").status, 200);
  ASSERT_TRUE(node.wait_outbox_drained());
  auto o = read_outbox(node.data_dir(), "email");
  EXPECT_TRUE(no_duplicates(o));
  EXPECT_EQ(o.where("step", "welcome").size(), 1u);
  EXPECT_EQ(o.where("step", "reminder").size(), 1u);
}

// Nesting allowed at the edge (limits.json_depth_max, 64) must stay readable
// when it comes back from LMDB inside the customer state, a few levels deeper:
// Boost.JSON's own default (32) once turned such a state into "unreadable,
// starting empty" on rehydration and a 500 on GET /api/customers/{id}.
json::value nested(int levels) {
  json::value v = "bottom";
  for (int i = 0; i < levels; ++i)
    v = json::object{{"n", std::move(v)}};
  return v;
}

TEST(Crash, DeeplyNestedEventsAreAcceptedOnBothEdgesAndTheStateSurvivesARestart) {
  Node node;
  ASSERT_TRUE(node.start());
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  ASSERT_TRUE(c.send_line(identify("deep1", {{"email", "deep1@example.com"}, {"deep", nested(45)}})));
  ASSERT_TRUE(c.send_line(track("deep1", "Nested", {{"deep", nested(50)}}, "deep1-t1")));
  ASSERT_TRUE(c.wait_ack(2)) << c.transcript();
  json::object http_event{{"userId", "deep1"}, {"event", "Nested Over HTTP"}, {"messageId", "deep1-h1"},
                          {"properties", json::object{{"deep", nested(50)}}}};
  auto h = node.post("/v1/track", json::serialize(http_event));
  ASSERT_EQ(h.status, 200) << h.describe();
  // Deeper than limits.json_depth_max is still refused, with the reason.
  json::object too_deep{{"userId", "deep1"}, {"event", "Too Deep"}, {"properties", nested(70)}};
  auto refused = node.post("/v1/track", json::serialize(too_deep));
  EXPECT_EQ(refused.status, 400) << refused.describe();
  EXPECT_NE(refused.body.find("deeper than 64"), std::string::npos) << refused.body;

  auto before = node.customer("deep1");
  ASSERT_EQ(before.status, 200) << before.describe();
  EXPECT_EQ(node.terminate(), 0);
  ASSERT_TRUE(node.restart());
  auto after = node.customer("deep1");
  ASSERT_EQ(after.status, 200) << after.describe();
  EXPECT_EQ(at_path(after.json(), "profile.traits.email"), json::value("deep1@example.com"));
  EXPECT_EQ(at_path(after.json(), "profile.traits.deep"), nested(45));
  // The rehydrated actor keeps its state: one more event lands on top of it.
  TcpClient c2;
  ASSERT_TRUE(c2.connect(node.tcp_port()));
  ASSERT_TRUE(c2.send_line(track("deep1", "After Restart", {}, "deep1-t2")));
  ASSERT_TRUE(c2.wait_ack(1)) << c2.transcript();
  auto last = node.customer("deep1");
  ASSERT_EQ(last.status, 200) << last.describe();
  EXPECT_EQ(at_path(last.json(), "profile.traits.email"), json::value("deep1@example.com"));
  std::set<std::string> names;
  for (const auto& e : array_at(last.json(), "history"))
    names.insert(str_at(e, "name"));
  for (const char* n : {"Nested", "Nested Over HTTP", "After Restart"})
    EXPECT_TRUE(names.count(n)) << "history lost '" << n << "': " << last.body.substr(0, 400);
}

// A stored state that cannot be read back (disk damage, a bug) is never
// overwritten with an empty one: the customer's events are refused with a
// reason that says retrying will not help, its due timer is dropped so the
// clock keeps moving, everyone else carries on, and the bytes stay in LMDB.
TEST(Crash, AnUnreadableStoredStateIsKeptAndItsEventsAreRefused) {
  Node node;
  ASSERT_TRUE(node.start());
  EXPECT_EQ(node.terminate(), 0);
  const std::string garbage = "{\"id\":\"bad1\",\"profile\":";  // truncated JSON
  {
    auto store = Store::open(node.data_dir(), 64);
    ASSERT_TRUE(store) << store.error().message;
    Batch b;
    CustomerWrite w;
    w.customer = "bad1";
    w.state_json = garbage;
    w.timers_set.push_back(TimerKey{1, "bad1", "t-bad1"});
    b.customers.push_back(std::move(w));
    ASSERT_TRUE((*store)->commit(b));
  }
  ASSERT_TRUE(node.restart());
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  ASSERT_TRUE(c.send_line(track("bad1", "Anything", {}, "bad1-1")));
  ASSERT_TRUE(c.send_line(track("good1", "Anything", {}, "good1-1")));
  ASSERT_TRUE(c.wait_ack(2)) << c.transcript();
  const std::string t = c.transcript();
  EXPECT_NE(t.find("\"nack\":1"), std::string::npos) << t;
  EXPECT_NE(t.find("unreadable"), std::string::npos) << t;
  EXPECT_EQ(t.find("\"retry\":true"), std::string::npos) << "retrying cannot help: " << t;
  auto h = node.post("/v1/track", track("bad1", "Over HTTP", {}, "bad1-2"));
  EXPECT_EQ(h.status, 500) << h.describe();
  EXPECT_EQ(node.customer("good1").status, 200);
  ASSERT_EQ(node.advance_clock("1m").status, 200) << "the unreadable customer's timer must not hold the clock";
  auto stats = node.get("/api/stats").json();
  EXPECT_EQ(int_at(stats, "customers_unreadable"), 1) << json::serialize(stats);
  EXPECT_EQ(int_at(stats, "timers_pending"), 0) << json::serialize(stats);
  EXPECT_NE(node.get("/metrics").body.find("waymark_events_nacked_total{reason=\"customer_state_unreadable\"} 2"),
            std::string::npos);
  EXPECT_EQ(node.terminate(), 0);
  auto store = Store::open(node.data_dir(), 64);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->get_customer("bad1").value_or("<gone>"), garbage);
}

}  // namespace
}  // namespace waymark::it
