// The webhook provider and the channel gateway's pacing against a real HTTP
// receiver on loopback: record + Idempotency-Key, retries (503, 429 with
// Retry-After), permanent failures, dead letters, the rate limit, and
// exactly-one-key-per-step across kill -9.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>

#include "integration/delivery_helpers.hpp"
#include "support/http_receiver.hpp"

namespace waymark::it {
namespace {

using namespace delivery;
using std::chrono::milliseconds;

NodeOptions push_to(const HttpReceiver& rx, json::object extra = {}) {
  NodeOptions o;
  o.config["channels"] = json::object{{"push", webhook_channel(rx.url(), std::move(extra))}};
  return o;
}

json::value delivery_of(Node& node, const std::string& customer) {
  auto d = deliveries_of(node, customer);
  return d.empty() ? json::value() : d.back();
}

TEST(DeliveryWebhook, ReceiverGetsTheRecordAsJsonWithItsIdempotencyKey) {
  HttpReceiver rx;
  ASSERT_TRUE(rx.start());
  Node node(push_to(rx));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate}, {kPingJourney}));
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, 1)));
  ASSERT_TRUE(rx.wait_for(1, 5000));
  ASSERT_TRUE(node.wait_outbox_drained());

  auto req = rx.requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/hook");
  EXPECT_EQ(req.header("content-type"), "application/json");
  auto body = parse_json(req.body);
  ASSERT_TRUE(body.is_object()) << req.body;
  EXPECT_FALSE(str_at(body, "id").empty());
  EXPECT_EQ(req.header("idempotency-key"), str_at(body, "id"));
  EXPECT_EQ(str_at(body, "channel"), "push");
  EXPECT_EQ(str_at(body, "customer"), "u1");
  EXPECT_EQ(str_at(body, "journey"), "pings");
  EXPECT_EQ(str_at(body, "step"), "ping");
  EXPECT_EQ(str_at(body, "to"), "tok-u1");
  EXPECT_EQ(at_path(body, "content.title"), json::value("Hi User1"));
  EXPECT_EQ(at_path(body, "content.body"), json::value("Ping 1"));
  auto d = delivery_of(node, "u1");
  EXPECT_EQ(str_at(d, "status"), "delivered") << d;
  EXPECT_EQ(str_at(d, "id"), str_at(body, "id"));
  EXPECT_EQ(int_at(d, "attempts"), 1) << d;
}

TEST(DeliveryWebhook, TwoServiceUnavailableAnswersThenOkMeanThreeAttemptsWithOneKeyAndOneSuccess) {
  HttpReceiver rx([](const ReceivedRequest&, size_t i) { return Reply{i < 2 ? 503 : 200, {}, "", 0}; });
  ASSERT_TRUE(rx.start());
  Node node(push_to(rx));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate}, {kPingJourney}));
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, 1)));
  ASSERT_TRUE(rx.wait_for(3, 5000)) << rx.count();
  ASSERT_TRUE(node.wait_outbox_drained());

  auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 3u);
  std::set<std::string> keys;
  for (auto& r : reqs)
    keys.insert(r.header("idempotency-key"));
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(reqs[2].header("x-waymark-attempt"), "3");
  EXPECT_EQ(reqs[0].connection, reqs[2].connection) << "the connection was not kept alive";
  auto d = delivery_of(node, "u1");
  EXPECT_EQ(str_at(d, "status"), "delivered") << d;
  EXPECT_EQ(int_at(d, "attempts"), 3) << d;
  EXPECT_EQ(*keys.begin(), str_at(d, "id"));
}

TEST(DeliveryWebhook, TooManyRequestsWithRetryAfterIsNotRetriedEarlier) {
  HttpReceiver rx([](const ReceivedRequest&, size_t i) {
    return i == 0 ? Reply{429, {{"Retry-After", "1"}}, "slow down", 0} : Reply{};
  });
  ASSERT_TRUE(rx.start());
  Node node(push_to(rx));  // backoff_base_ms 20: without Retry-After the retry would come after ~20 ms
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate}, {kPingJourney}));
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, 1)));
  ASSERT_TRUE(rx.wait_for(2, 5000));
  auto reqs = rx.requests();
  auto gap = std::chrono::duration_cast<milliseconds>(reqs[1].at - reqs[0].at).count();
  EXPECT_GE(gap, 1000) << "retried " << gap << " ms after a 429 with Retry-After: 1";
  EXPECT_EQ(reqs[0].header("idempotency-key"), reqs[1].header("idempotency-key"));
  ASSERT_TRUE(node.wait_outbox_drained());
  EXPECT_EQ(str_at(delivery_of(node, "u1"), "status"), "delivered");
}

TEST(DeliveryWebhook, AClientErrorFailsTheDeliveryWithoutRetrying) {
  HttpReceiver rx([](const ReceivedRequest&, size_t) { return Reply{422, {}, "bad token", 0}; });
  ASSERT_TRUE(rx.start());
  Node node(push_to(rx));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate}, {kPingJourney}));
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, 1)));
  ASSERT_TRUE(rx.wait_for(1, 5000));
  ASSERT_TRUE(node.wait_outbox_drained());
  auto d = delivery_of(node, "u1");
  EXPECT_EQ(str_at(d, "status"), "failed") << d;
  EXPECT_EQ(int_at(d, "attempts"), 1) << d;
  EXPECT_NE(str_at(d, "detail").find("422"), std::string::npos) << d;
  EXPECT_EQ(rx.count(), 1u);
}

TEST(DeliveryWebhook, AReceiverThatKeepsFailingTurnsTheDeliveryIntoADeadLetterAfterAttemptsMax) {
  HttpReceiver rx([](const ReceivedRequest&, size_t) { return Reply{500, {}, "boom", 0}; });
  ASSERT_TRUE(rx.start());
  Node node(push_to(rx, {{"attempts_max", 3}}));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate}, {kPingJourney}));
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, 1)));
  ASSERT_TRUE(rx.wait_for(3, 5000));
  ASSERT_TRUE(node.wait_outbox_drained());
  auto d = delivery_of(node, "u1");
  EXPECT_EQ(str_at(d, "status"), "dead") << d;
  EXPECT_EQ(int_at(d, "attempts"), 3) << d;
  EXPECT_EQ(rx.count(), 3u);
}

TEST(DeliveryWebhook, ReceiverTimestampsNeverExceedRatePlusBurstInAnyOneSecondWindow) {
  HttpReceiver rx;
  ASSERT_TRUE(rx.start());
  const int rate = 5, burst = 2, n = 12;
  Node node(push_to(rx, {{"rate_per_s", rate}, {"burst", burst}, {"in_flight_max", 8}}));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate}, {kPingJourney}));
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, n)));
  ASSERT_TRUE(rx.wait_for(n, 6000)) << rx.count();
  auto reqs = rx.requests();
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto in_window = std::count_if(reqs.begin(), reqs.end(), [&](const ReceivedRequest& r) {
      return r.at >= reqs[i].at && r.at < reqs[i].at + milliseconds(1000);
    });
    EXPECT_LE(in_window, rate + burst) << "window starting at request " << i;
  }
  // And the limit is real: n requests need at least (n - burst) / rate seconds.
  auto span = std::chrono::duration_cast<milliseconds>(reqs.back().at - reqs.front().at).count();
  EXPECT_GE(span, (n - burst) * 1000 / rate - 100) << span;
}

TEST(DeliveryWebhook, KillNineWhileDeliveriesAreInFlightLosesNoneAndNeverChangesAKey) {
  HttpReceiver rx([](const ReceivedRequest&, size_t) { return Reply{200, {}, "ok", 50}; });
  ASSERT_TRUE(rx.start());
  const int n = 20;
  Node node(push_to(rx, {{"in_flight_max", 2}}));
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy(node, {kPingTemplate}, {kPingJourney}));
  ASSERT_TRUE(send_all_acked(node, ping_lines(1, n)));
  ASSERT_TRUE(rx.wait_for(4, 5000));
  node.kill9();
  ASSERT_LT(rx.count(), static_cast<size_t>(n)) << "all delivered before the kill: the test proves nothing";
  ASSERT_TRUE(node.restart());

  std::map<std::string, std::set<std::string>> keys_by_customer;
  auto collect = [&] {
    keys_by_customer.clear();
    for (auto& r : rx.requests())
      keys_by_customer[str_at(parse_json(r.body), "customer")].insert(r.header("idempotency-key"));
    return keys_by_customer.size();
  };
  for (size_t seen = rx.count(); collect() < static_cast<size_t>(n) && rx.wait_for(seen + 1, 5000);)
    seen = rx.count();
  ASSERT_EQ(collect(), static_cast<size_t>(n)) << "deliveries lost across kill -9";
  for (auto& [customer, keys] : keys_by_customer)
    EXPECT_EQ(keys.size(), 1u) << customer << " received different keys";
  ASSERT_TRUE(node.wait_outbox_drained());
  for (int i = 1; i <= n; ++i)
    EXPECT_EQ(str_at(delivery_of(node, "u" + std::to_string(i)), "status"), "delivered") << i;
}

}  // namespace
}  // namespace waymark::it
