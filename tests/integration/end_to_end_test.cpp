// End to end through the real binary: deploy over HTTP, ingest over TCP,
// deliveries in the file outbox, timers driven by the manual clock.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/outbox.hpp"
#include "support/tcp_client.hpp"
#include "waymark/time.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

// Deploys templates and journeys; each must answer 201.
::testing::AssertionResult deploy(Node& node, std::initializer_list<const char*> templates,
                                  std::initializer_list<const char*> journeys) {
  for (const char* t : templates) {
    auto r = node.deploy_template(t);
    if (r.status != 201)
      return ::testing::AssertionFailure() << "template deploy: " << r.describe();
  }
  for (const char* j : journeys) {
    auto r = node.deploy_journey(j);
    if (r.status != 201 || int_at(r.json(), "version") < 1)
      return ::testing::AssertionFailure() << "journey deploy: " << r.describe();
  }
  return ::testing::AssertionSuccess();
}

// Sends lines on a fresh connection and waits for the ack covering all of them.
::testing::AssertionResult send_all_acked(Node& node, const std::vector<std::string>& lines) {
  TcpClient c;
  if (!c.connect(node.tcp_port()))
    return ::testing::AssertionFailure() << c.last_error();
  for (const auto& l : lines)
    if (!c.send_line(l))
      return ::testing::AssertionFailure() << c.last_error();
  if (!c.wait_ack(lines.size()))
    return ::testing::AssertionFailure() << "no ack for " << lines.size() << " lines: " << c.transcript();
  if (!c.nacks().empty() || !c.protocol_violations().empty())
    return ::testing::AssertionFailure() << "unexpected nacks/violations: " << c.transcript();
  return ::testing::AssertionSuccess();
}

std::vector<json::object> of_journey(const Outbox& o, const std::string& journey) {
  return o.where("journey", journey);
}

// Advances the manual clock and checks it moved by exactly `expect_ms`.
::testing::AssertionResult advance(Node& node, const std::string& d, Millis expect_ms) {
  auto before = node.post("/api/clock", R"({"advance":"1s"})");
  auto after = node.advance_clock(d);
  if (before.status != 200 || after.status != 200)
    return ::testing::AssertionFailure() << "clock: " << before.describe() << " / " << after.describe();
  auto t0 = parse_rfc3339(str_at(before.json(), "now"));
  auto t1 = parse_rfc3339(str_at(after.json(), "now"));
  if (!t0 || !t1 || *t1 - *t0 != expect_ms)
    return ::testing::AssertionFailure() << "clock did not move by " << d << ": " << before.body << " -> "
                                         << after.body;
  return node.wait_outbox_drained();
}

int count_named(const json::array& history, const std::string& name) {
  int n = 0;
  for (const auto& h : history)
    n += str_at(h, "name") == name ? 1 : 0;
  return n;
}

std::vector<json::value> instances_of(const json::value& customer, const std::string& journey) {
  std::vector<json::value> out;
  for (const auto& i : array_at(customer, "instances"))
    if (str_at(i, "journey") == journey)
      out.push_back(i);
  return out;
}

TEST(EndToEnd, WelcomeMailIsSentOnEntryAndTheReminderOnlyAfterTwoDays) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.get("/healthz").status, 200);
  ASSERT_TRUE(deploy(node, {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate}, {fixtures::kOnboardingJourney}));

  ASSERT_TRUE(send_all_acked(node, {identify("u1", {{"email", "ada@example.com"}, {"first_name", "Ada"}}, "m-id-1"),
                                    track("u1", "Signed Up", {{"plan", "trial"}}, "m-su-1")}));
  ASSERT_TRUE(node.wait_outbox_drained());

  auto mails = read_outbox(node.data_dir(), "email");
  ASSERT_TRUE(mails.bad_lines.empty()) << mails.bad_lines.front();
  ASSERT_EQ(mails.records.size(), 1u);
  const auto welcome = mails.records[0];  // a copy: `mails` is reassigned below
  EXPECT_FALSE(field(welcome, "id").empty());
  EXPECT_EQ(field(welcome, "channel"), "email");
  EXPECT_EQ(field(welcome, "customer"), "u1");
  EXPECT_EQ(field(welcome, "journey"), "onboarding");
  EXPECT_EQ(int_at(json::value(welcome), "version"), 1);
  EXPECT_EQ(field(welcome, "step"), "welcome");
  EXPECT_EQ(field(welcome, "template"), "welcome");
  EXPECT_EQ(field(welcome, "to"), "ada@example.com");
  EXPECT_EQ(field(welcome, "content.subject"), "Welcome, Ada");
  EXPECT_EQ(field(welcome, "content.body"), "Hello Ada, thanks for signing up.");
  EXPECT_TRUE(parse_rfc3339(field(welcome, "at"))) << field(welcome, "at");

  auto c = node.customer("u1");
  ASSERT_EQ(c.status, 200) << c.describe();
  auto cj = c.json();
  EXPECT_EQ(str_at(cj, "id"), "u1");
  EXPECT_EQ(at_path(cj, "profile.traits.email"), json::value("ada@example.com")) << c.body;
  EXPECT_EQ(at_path(cj, "profile.traits.first_name"), json::value("Ada")) << c.body;
  auto inside = instances_of(cj, "onboarding");
  ASSERT_EQ(inside.size(), 1u) << c.body;
  EXPECT_EQ(str_at(inside[0], "step"), "wait2d") << c.body;
  EXPECT_EQ(int_at(inside[0], "version"), 1) << c.body;
  EXPECT_EQ(count_named(array_at(cj, "history"), "Signed Up"), 1) << c.body;
  auto deliveries = array_at(cj, "deliveries");
  ASSERT_EQ(deliveries.size(), 1u) << c.body;
  EXPECT_EQ(str_at(deliveries[0], "id"), field(welcome, "id"));
  EXPECT_FALSE(array_at(cj, "trace").empty()) << c.body;

  ASSERT_TRUE(advance(node, "1d", 86400000));
  EXPECT_EQ(read_outbox(node.data_dir(), "email").records.size(), 1u) << "reminder sent after only one day";

  ASSERT_TRUE(advance(node, "1d", 86400000));
  mails = read_outbox(node.data_dir(), "email");
  ASSERT_EQ(mails.records.size(), 2u);
  auto reminders = mails.where("step", "reminder");
  ASSERT_EQ(reminders.size(), 1u);
  EXPECT_EQ(field(reminders[0], "content.subject"), "Still there, Ada?");
  EXPECT_EQ(field(reminders[0], "to"), "ada@example.com");
  EXPECT_NE(field(reminders[0], "id"), field(welcome, "id"));

  cj = node.customer("u1").json();
  EXPECT_EQ(array_at(cj, "deliveries").size(), 2u) << json::serialize(cj);
  for (const auto& i : instances_of(cj, "onboarding"))
    EXPECT_NE(str_at(i, "step"), "wait2d") << "instance still waiting after the reminder: " << json::serialize(cj);
}

TEST(EndToEnd, ARepeatedMessageIdIsAcknowledgedTwiceButTakesEffectOnce) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate}, {fixtures::kOnboardingJourney}));

  const std::string signed_up = track("u2", "Signed Up", {}, "m-dup-1");
  ASSERT_TRUE(send_all_acked(node, {identify("u2", {{"email", "bo@example.com"}}, "m-id-2"), signed_up, signed_up}));
  ASSERT_TRUE(node.wait_outbox_drained());

  auto mails = read_outbox(node.data_dir(), "email");
  ASSERT_EQ(mails.records.size(), 1u) << "the duplicate entered the journey again";
  EXPECT_EQ(field(mails.records[0], "content.subject"), "Welcome, there") << "fallback of a missing trait";

  auto cj = node.customer("u2").json();
  EXPECT_EQ(count_named(array_at(cj, "history"), "Signed Up"), 1) << json::serialize(cj);
  EXPECT_EQ(instances_of(cj, "onboarding").size(), 1u) << json::serialize(cj);

  // The same messageId on a later connection is still a duplicate.
  ASSERT_TRUE(send_all_acked(node, {signed_up}));
  ASSERT_TRUE(node.wait_outbox_drained());
  EXPECT_EQ(read_outbox(node.data_dir(), "email").records.size(), 1u);
}

constexpr const char* kHelloTemplate = R"({"id":"hello","channel":"email","subject":"Hello","body":"Hi."})";

// Two journeys on the same entry event that differ only by reentry mode.
constexpr const char* kNeverJourney = R"({
  "id": "once", "name": "Once", "entry": {"event": "Signed Up"}, "reentry": {"mode": "never"},
  "start": "hi",
  "steps": {"hi": {"type": "send", "channel": "email", "template": "hello", "next": "pause"},
            "pause": {"type": "wait", "duration": "1h", "next": "done"},
            "done": {"type": "exit"}}})";
constexpr const char* kAfterExitJourney = R"({
  "id": "again", "name": "Again", "entry": {"event": "Signed Up"}, "reentry": {"mode": "after_exit"},
  "start": "hi",
  "steps": {"hi": {"type": "send", "channel": "email", "template": "hello", "next": "pause"},
            "pause": {"type": "wait", "duration": "1h", "next": "done"},
            "done": {"type": "exit"}}})";

TEST(EndToEnd, ReentryNeverEntersOnceWhileAfterExitEntersAgainOnlyOnceTheFirstInstanceEnded) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kHelloTemplate}, {kNeverJourney, kAfterExitJourney}));

  auto counts = [&] {
    auto o = read_outbox(node.data_dir(), "email");
    return std::make_pair(of_journey(o, "once").size(), of_journey(o, "again").size());
  };
  using Counts = std::pair<size_t, size_t>;

  ASSERT_TRUE(send_all_acked(node, {identify("u3", {{"email", "cy@example.com"}}), track("u3", "Signed Up", {}, "su-1")}));
  ASSERT_TRUE(node.wait_outbox_drained());
  EXPECT_EQ(counts(), Counts(1, 1)) << "both journeys enter on the first event";

  ASSERT_TRUE(send_all_acked(node, {track("u3", "Signed Up", {}, "su-2")}));
  ASSERT_TRUE(node.wait_outbox_drained());
  EXPECT_EQ(counts(), Counts(1, 1)) << "no journey re-enters while its instance is still inside";

  ASSERT_TRUE(advance(node, "2h", 2 * 3600000));
  ASSERT_TRUE(send_all_acked(node, {track("u3", "Signed Up", {}, "su-3")}));
  ASSERT_TRUE(node.wait_outbox_drained());
  EXPECT_EQ(counts(), Counts(1, 2)) << "after_exit re-enters after the exit, never does not";

  auto o = read_outbox(node.data_dir(), "email");
  EXPECT_TRUE(o.duplicate_ids().empty()) << o.duplicate_ids().front();
}

TEST(EndToEnd, AbandonedCartRemindsOnlyForTheCartThatWasNotOrdered) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {fixtures::kCartTemplate}, {fixtures::kAbandonedCartJourney}));

  ASSERT_TRUE(send_all_acked(node, {identify("u4", {{"email", "di@example.com"}}),
                                    track("u4", "Cart Updated", {{"cart_id", "A"}}, "cu-a"),
                                    track("u4", "Cart Updated", {{"cart_id", "B"}}, "cu-b"),
                                    track("u4", "Order Completed", {{"cart_id", "A"}}, "oc-a")}));

  auto cj = node.customer("u4").json();
  auto carts = instances_of(cj, "abandoned-cart");
  ASSERT_EQ(carts.size(), 1u) << "cart A converted, only cart B waits: " << json::serialize(cj);
  EXPECT_EQ(str_at(carts[0], "key"), "B");
  EXPECT_EQ(str_at(carts[0], "step"), "wait_order");

  ASSERT_TRUE(advance(node, "2h", 2 * 3600000));
  auto mails = read_outbox(node.data_dir(), "email");
  ASSERT_EQ(mails.records.size(), 1u);
  const auto& r = mails.records[0];
  EXPECT_EQ(field(r, "journey"), "abandoned-cart");
  EXPECT_EQ(field(r, "customer"), "u4");
  EXPECT_EQ(field(r, "key"), "B");
  EXPECT_EQ(field(r, "step"), "remind");
  EXPECT_EQ(field(r, "content.subject"), "You left cart B");
  EXPECT_EQ(field(r, "content.body"), "Cart B is still waiting for you.");
  EXPECT_TRUE(instances_of(node.customer("u4").json(), "abandoned-cart").empty());
}

}  // namespace
}  // namespace waymark::it
