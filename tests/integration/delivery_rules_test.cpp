// Rules the customer actor applies before a send (consent, frequency cap,
// quiet hours in the customer's time zone), observed through the real node
// and the file outbox; and the inbox provider's per-customer LMDB messages.
#include <gtest/gtest.h>

#include "integration/delivery_helpers.hpp"
#include "support/fixtures.hpp"
#include "support/outbox.hpp"
#include "waymark/store.hpp"

namespace waymark::it {
namespace {

using namespace delivery;

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

NodeOptions email_file_channel(json::object extra = {}) {
  json::object email{{"provider", "file"}};
  for (auto& kv : extra)
    email[kv.key()] = kv.value();
  NodeOptions o;
  o.config["channels"] = json::object{{"email", email}};
  return o;
}

TEST(DeliveryRules, UnsubscribedCustomersGetNothingAndTheSuppressionIsTraced) {
  Node node(email_file_channel());
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate}, {fixtures::kOnboardingJourney}));
  ASSERT_TRUE(send_all_acked(
    node, {identify("all", {{"email", "a@example.com"}, {"unsubscribed", true}}), track("all", "Signed Up"),
           identify("mail", {{"email", "m@example.com"}, {"unsubscribed_email", true}}), track("mail", "Signed Up"),
           identify("sms", {{"email", "s@example.com"}, {"unsubscribed_sms", true}}), track("sms", "Signed Up")}));
  ASSERT_TRUE(node.wait_outbox_drained());
  auto out = read_outbox(node.data_dir(), "email");
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(field(out.records[0], "customer"), "sms");  // opted out of another channel only
  EXPECT_TRUE(contains(trace_of(node, "all"), "suppressed: unsubscribed")) << trace_of(node, "all");
  EXPECT_TRUE(contains(trace_of(node, "mail"), "suppressed: unsubscribed")) << trace_of(node, "mail");
}

TEST(DeliveryRules, ThreeSendsUnderACapOfTwoDeliverTwoAndSuppressOne) {
  Node node(email_file_channel({{"frequency_cap", json::object{{"max", 2}, {"per", "1d"}}}}));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {fixtures::kReceiptTemplate}, {fixtures::kReceiptJourney}));
  ASSERT_TRUE(send_all_acked(node, {identify("u1", {{"email", "a@example.com"}}),
                                    track("u1", "Order Placed", {{"order_id", "o1"}}),
                                    track("u1", "Order Placed", {{"order_id", "o2"}}),
                                    track("u1", "Order Placed", {{"order_id", "o3"}})}));
  ASSERT_TRUE(node.wait_outbox_drained());
  auto out = read_outbox(node.data_dir(), "email");
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(field(out.records[0], "content.subject"), "Order o1 confirmed");
  EXPECT_EQ(field(out.records[1], "content.subject"), "Order o2 confirmed");
  auto trace = trace_of(node, "u1");
  EXPECT_TRUE(contains(trace, "suppressed: frequency_cap")) << trace;
  // A day later the window has room again.
  ASSERT_EQ(node.advance_clock("1d").status, 200);
  ASSERT_TRUE(send_all_acked(node, {track("u1", "Order Placed", {{"order_id", "o4"}})}));
  ASSERT_TRUE(node.wait_outbox_drained());
  EXPECT_EQ(read_outbox(node.data_dir(), "email").records.size(), 3u);
}

TEST(DeliveryRules, QuietHoursDeferTheSendToTheEndOfTheWindowInTheCustomersTimeZone) {
  Node node(email_file_channel({{"quiet_hours", json::object{{"start", "21:00"}, {"end", "08:00"}}}}));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {fixtures::kWelcomeTemplate, fixtures::kReminderTemplate}, {fixtures::kOnboardingJourney}));
  // 03:00 UTC = 22:00 in New York (quiet) and 12:00 in Tokyo (not quiet).
  auto set = node.post("/api/clock", R"({"set":"2030-01-15T03:00:00Z"})");
  ASSERT_EQ(set.status, 200) << set.describe();
  ASSERT_TRUE(send_all_acked(
    node, {identify("ny", {{"email", "ny@example.com"}, {"timezone", "America/New_York"}}), track("ny", "Signed Up"),
           identify("tk", {{"email", "tk@example.com"}, {"timezone", "Asia/Tokyo"}}), track("tk", "Signed Up")}));
  ASSERT_TRUE(node.wait_outbox_drained());
  auto out = read_outbox(node.data_dir(), "email");
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(field(out.records[0], "customer"), "tk");
  EXPECT_TRUE(contains(trace_of(node, "ny"), "deferred: quiet_hours until 2030-01-15T13:00:00")) << trace_of(node, "ny");

  // 12:59 UTC = 07:59 in New York: still quiet.
  ASSERT_EQ(node.post("/api/clock", R"({"set":"2030-01-15T12:59:00Z"})").status, 200);
  ASSERT_TRUE(node.wait_outbox_drained());
  EXPECT_EQ(read_outbox(node.data_dir(), "email").where("customer", "ny").size(), 0u);
  // 13:00 UTC = 08:00 in New York: the window opens and the mail goes out.
  ASSERT_EQ(node.advance_clock("1m").status, 200);
  ASSERT_TRUE(node.wait_outbox_drained());
  auto ny = read_outbox(node.data_dir(), "email").where("customer", "ny");
  ASSERT_EQ(ny.size(), 1u);
  EXPECT_EQ(field(ny[0], "to"), "ny@example.com");
  EXPECT_EQ(field(ny[0], "step"), "welcome");
}

constexpr const char* kInappTemplate = R"({
  "id": "hello_inapp", "channel": "inapp", "title": "Hi {{traits.first_name|there}}", "body": "Welcome aboard"
})";
constexpr const char* kInappJourney = R"({
  "id": "inapp-hello", "name": "In-app hello", "owner": "delivery-tests",
  "entry": {"event": "Signed Up"}, "start": "hello",
  "steps": {"hello": {"type": "send", "channel": "inapp", "template": "hello_inapp", "next": "done"},
            "done": {"type": "exit"}}
})";

TEST(DeliveryRules, InboxMessagesAreKeptPerCustomerInTheStore) {
  NodeOptions o;
  o.config["channels"] = json::object{{"inapp", json::object{{"provider", "inbox"}}}};
  Node node(o);
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kInappTemplate}, {kInappJourney}));
  ASSERT_TRUE(send_all_acked(node, {identify("u1", {{"first_name", "Ada"}}), track("u1", "Signed Up"),
                                    identify("u2", {{"first_name", "Bob"}}), track("u2", "Signed Up")}));
  ASSERT_TRUE(node.wait_outbox_drained());
  auto d = deliveries_of(node, "u1");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(str_at(d[0], "status"), "delivered") << d[0];
  ASSERT_EQ(node.terminate(), 0);

  auto store = Store::open(node.data_dir(), 4096);
  ASSERT_TRUE(store) << store.error().message;
  auto inbox = (*store)->inbox_list("u1");
  ASSERT_EQ(inbox.size(), 1u);
  auto m = parse_json(inbox[0]);
  EXPECT_EQ(str_at(m, "id"), str_at(d[0], "id"));
  EXPECT_EQ(at_path(m, "content.title"), json::value("Hi Ada"));
  EXPECT_EQ(at_path(m, "read"), json::value(false));
  EXPECT_EQ((*store)->inbox_list("u2").size(), 1u);
  EXPECT_TRUE((*store)->inbox_list("u3").empty());
}

}  // namespace
}  // namespace waymark::it
