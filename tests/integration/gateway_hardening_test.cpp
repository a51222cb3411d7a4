// The channel gateway against what issue #12 found: outbox_pending is the
// store's count of outbox entries (right after a restart and after an
// erasure), an erased customer's deliveries already loaded by the gateway are
// never sent (now or after a restart), and a waiting retry keeps its due time
// across a restart (on the manual clock).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "integration/delivery_helpers.hpp"
#include "support/http_receiver.hpp"

namespace waymark::it {
namespace {

using namespace delivery;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kCanary = "canary-77d2-erased";

/// One event, seven push sends in a row: all seven are committed together and
/// loaded by the gateway at once.
constexpr const char* kBurstTemplate = R"({
  "id": "burst", "channel": "push", "title": "Hi {{traits.first_name|there}}", "body": "Burst"
})";
constexpr const char* kBurstJourney = R"({
  "id": "bursts", "name": "Bursts", "owner": "gateway-tests", "entry": {"event": "Burst"}, "start": "s1",
  "steps": {"s1": {"type": "send", "channel": "push", "template": "burst", "next": "s2"},
            "s2": {"type": "send", "channel": "push", "template": "burst", "next": "s3"},
            "s3": {"type": "send", "channel": "push", "template": "burst", "next": "s4"},
            "s4": {"type": "send", "channel": "push", "template": "burst", "next": "s5"},
            "s5": {"type": "send", "channel": "push", "template": "burst", "next": "s6"},
            "s6": {"type": "send", "channel": "push", "template": "burst", "next": "s7"},
            "s7": {"type": "send", "channel": "push", "template": "burst", "next": "done"},
            "done": {"type": "exit"}}
})";

NodeOptions push_to(const std::string& url, json::object extra) {
  NodeOptions o;
  o.config["channels"] = json::object{{"push", webhook_channel(url, std::move(extra))}};
  return o;
}

std::string customer_of(const ReceivedRequest& r) { return str_at(parse_json(r.body), "customer"); }

size_t requests_for(const HttpReceiver& rx, const std::string& customer) {
  size_t n = 0;
  for (auto& r : rx.requests())
    n += customer_of(r) == customer;
  return n;
}

/// outbox_pending and the sum of outbox_depth from one GET /api/stats.
std::pair<int64_t, int64_t> pending_and_depth(Node& node) {
  auto v = node.get("/api/stats").json();
  int64_t depth = 0;
  auto per_channel = at_path(v, "outbox_depth");
  if (per_channel.is_object())
    for (auto& kv : per_channel.get_object())
      depth += kv.value().is_int64() ? kv.value().get_int64() : 0;
  return {int_at(v, "outbox_pending"), depth};
}

/// Polls `fact` every 20 ms until it holds or `timeout_ms` passed.
template <class F>
bool eventually(F fact, int timeout_ms = 10000) {
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  while (SteadyClock::now() < deadline) {
    if (fact())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // bounded poll on a fact
  }
  return fact();
}

TEST(GatewayHardening, OutboxPendingIsTheStoredBacklogFromTheFirstRequestAfterARestartAndAfterAnErasure) {
  // A webhook target that is always busy (kept up: a closed port could be
  // taken by another process), and retries an hour apart: every delivery
  // stays in the outbox.
  HttpReceiver busy([](const ReceivedRequest&, size_t) { return Reply{503, {}, "busy", 0}; });
  ASSERT_TRUE(busy.start());
  Node node(push_to(busy.url(), {{"backoff_base_ms", 3600000}, {"backoff_max_ms", 3600000}, {"attempts_max", 100}}));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate}, {kPingJourney}));
  const int kCustomers = 300;
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, kCustomers), 30000));
  ASSERT_TRUE(eventually([&] { return pending_and_depth(node).first == kCustomers; }))
    << node.get("/api/stats").body;

  node.kill9();
  ASSERT_TRUE(node.restart());
  auto [pending, depth] = pending_and_depth(node);  // the very first request after ready
  EXPECT_EQ(depth, kCustomers);
  EXPECT_EQ(pending, depth) << "outbox_pending right after the restart";

  // Erasing a customer removes its outbox entry, and the gauge with it.
  ASSERT_EQ(node.http("DELETE", "/api/customers/u1").status, 200);
  std::tie(pending, depth) = pending_and_depth(node);
  EXPECT_EQ(depth, kCustomers - 1);
  EXPECT_EQ(pending, depth) << "outbox_pending after erasing a customer with a pending delivery";
  auto metrics = node.get("/metrics").body;
  EXPECT_NE(metrics.find("waymark_outbox_pending " + std::to_string(kCustomers - 1) + "\n"), std::string::npos)
    << metrics;
}

TEST(GatewayHardening, AnErasedCustomersLoadedDeliveriesAreNeverSentNowOrAfterARestart) {
  // The first request is held until the erase has answered, then fails with
  // 503 (which would retry it); every other request succeeds.
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  HttpReceiver rx([released](const ReceivedRequest&, size_t i) {
    if (i == 0) {
      released.wait_for(std::chrono::seconds(20));
      return Reply{503, {}, "busy", 0};
    }
    return Reply{};
  });
  ASSERT_TRUE(rx.start());
  Node node(push_to(rx.url(), {{"in_flight_max", 1}}));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate, kBurstTemplate}, {kPingJourney, kBurstJourney}));
  ASSERT_TRUE(send_all_acked(node, {identify("gone", {{"push_token", kCanary}, {"first_name", kCanary}}),
                                    track("gone", "Burst")}));
  // One delivery at the provider, six loaded and waiting for the slot.
  ASSERT_TRUE(rx.wait_for(1, 10000));
  ASSERT_EQ(customer_of(rx.requests().at(0)), "gone");

  auto del = node.http("DELETE", "/api/customers/gone");
  release->set_value();
  ASSERT_EQ(del.status, 200) << del.describe();

  // The held attempt's 503 would retry it and free the slot for the six:
  // wait until the gateway dropped all seven, or one of them went out.
  ASSERT_TRUE(eventually([&] {
    return int_at(node.get("/api/stats").json(), "deliveries_dropped") >= 7 || requests_for(rx, "gone") > 1;
  })) << node.get("/api/stats").body;
  EXPECT_EQ(requests_for(rx, "gone"), 1u) << "deliveries of the erased customer were sent after the erase";
  EXPECT_EQ(int_at(node.get("/api/stats").json(), "deliveries_dropped"), 7);

  // Another customer's delivery still goes out, and nothing of "gone" before it.
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, 1)));
  ASSERT_TRUE(eventually([&] { return requests_for(rx, "u1") == 1; }));
  ASSERT_TRUE(node.wait_outbox_drained());

  // Nor after a restart.
  ASSERT_EQ(node.terminate(), 0);
  ASSERT_TRUE(node.restart());
  ASSERT_TRUE(send_all_acked(node, ping_lines(2, 1)));
  ASSERT_TRUE(eventually([&] { return requests_for(rx, "u2") == 1; }));
  ASSERT_TRUE(node.wait_outbox_drained());
  size_t canaries = 0;
  for (auto& r : rx.requests())
    canaries += r.body.find(kCanary) != std::string::npos;
  EXPECT_EQ(canaries, 1u) << "the erased customer's traits or token left the node after the erase";
  EXPECT_EQ(rx.count(), 3u);
}

TEST(GatewayHardening, AWaitingRetryKeepsItsDueTimeAcrossARestart) {
  HttpReceiver rx([](const ReceivedRequest&, size_t i) { return i == 0 ? Reply{503, {}, "busy", 0} : Reply{}; });
  ASSERT_TRUE(rx.start());
  // The retry is due 30 to 60 minutes (node clock) after the first attempt.
  Node node(push_to(rx.url(), {{"in_flight_max", 1}, {"backoff_base_ms", 3600000}, {"backoff_max_ms", 3600000}}));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate}, {kPingJourney}));
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, 1)));
  ASSERT_TRUE(rx.wait_for(1, 10000));
  // The failed attempt is recorded (with its due time) before the crash.
  ASSERT_TRUE(eventually([&] {
    auto d = deliveries_of(node, "u1");
    return d.size() == 1 && str_at(d[0], "status") == "pending" && int_at(d[0], "attempts") == 1;
  })) << node.customer("u1").body;

  node.kill9();
  ASSERT_TRUE(node.restart());
  // Entries load in outbox order, one slot: a retry started at once would
  // reach the receiver before u2's first attempt.
  ASSERT_TRUE(send_all_acked(node, ping_lines(2, 1)));
  ASSERT_TRUE(rx.wait_for(2, 10000));
  EXPECT_EQ(customer_of(rx.requests().at(1)), "u2") << "the waiting retry fired at once after the restart";
  EXPECT_EQ(rx.count(), 2u);

  // At its due time on the node's clock, it goes.
  ASSERT_EQ(node.advance_clock("1h").status, 200);
  ASSERT_TRUE(rx.wait_for(3, 10000)) << rx.count();
  auto retry = rx.requests().at(2);
  EXPECT_EQ(customer_of(retry), "u1");
  EXPECT_EQ(retry.header("x-waymark-attempt"), "2");
  ASSERT_TRUE(node.wait_outbox_drained());
  auto d = deliveries_of(node, "u1");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(str_at(d[0], "status"), "delivered") << d[0];
  EXPECT_EQ(int_at(d[0], "attempts"), 2) << d[0];
}

}  // namespace
}  // namespace waymark::it
