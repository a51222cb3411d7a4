// Backpressure through the real binary (PRODUCT.md §5): a producer that never
// reads its acks is slowed by TCP flow control, still gets every ack, and does
// not stall other connections.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "support/events.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

constexpr uint64_t kFloodLines = 10000;

TEST(Backpressure, AProducerThatDoesNotReadAcksGetsThemAllAndDoesNotStallOthers) {
  NodeOptions options;
  options.config = json::object{{"limits", json::object{{"connection_unacked_max", 64}}}};
  Node node(options);
  ASSERT_TRUE(node.start());

  TcpClient flood;
  ASSERT_TRUE(flood.connect(node.tcp_port(), 20000));
  std::atomic<bool> wrote_all{false};
  std::string write_error;
  // Writes block whenever the server stops reading (window of 64 lines); the
  // socket's send timeout turns a permanent stall into a failure, not a hang.
  std::thread writer([&] {
    for (uint64_t i = 1; i <= kFloodLines; ++i) {
      if (!flood.send_line(track("f" + std::to_string(i % 100), "Ping", {{"n", i}}))) {
        write_error = "line " + std::to_string(i) + ": " + flood.last_error();
        return;
      }
    }
    wrote_all = true;
  });

  TcpClient calm;
  ASSERT_TRUE(calm.connect(node.tcp_port()));
  ASSERT_TRUE(calm.send_line(identify("calm-1", {{"plan", "free"}})));
  EXPECT_TRUE(calm.wait_ack(1, 5000)) << "another connection stalled by the flood\n" << calm.transcript();

  writer.join();
  ASSERT_TRUE(wrote_all) << write_error;
  ASSERT_TRUE(flood.wait_ack(kFloodLines, 30000)) << flood.transcript();
  EXPECT_TRUE(flood.nacks().empty()) << flood.transcript();
  EXPECT_TRUE(flood.protocol_violations().empty()) << flood.protocol_violations().front();

  ASSERT_TRUE(calm.send_line(track("calm-1", "Tick")));
  EXPECT_TRUE(calm.wait_ack(2)) << calm.transcript();
  EXPECT_EQ(node.get("/healthz").status, 200);
  EXPECT_EQ(node.customer("f7").status, 200);
}

}  // namespace
}  // namespace waymark::it
