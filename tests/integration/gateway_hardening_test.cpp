// The channel gateway against what issue #12 found: outbox_pending is the
// store's count of outbox entries (right after a restart and after an
// erasure).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "integration/delivery_helpers.hpp"
#include "support/http_receiver.hpp"

namespace waymark::it {
namespace {

using namespace delivery;
using SteadyClock = std::chrono::steady_clock;

NodeOptions push_to(const std::string& url, json::object extra) {
  NodeOptions o;
  o.config["channels"] = json::object{{"push", webhook_channel(url, std::move(extra))}};
  return o;
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

}  // namespace
}  // namespace waymark::it
