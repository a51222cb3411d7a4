// What is acked must be readable back (PRODUCT.md §8, issue #12): numbers
// outside the double range and times outside years 0001-9999 are refused at
// both edges (TCP nack, HTTP 400), counted, and leave the customer readable
// and accepting events, also after a kill -9; the manual clock refuses to pass
// year 9999 (and an advance that overflows).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/events.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

/// The value of one sample of GET /metrics ("name{labels}"), 0 when absent.
double metric(Node& node, const std::string& sample) {
  const std::string body = node.get("/metrics").body;
  const std::string key = "\n" + sample + " ";
  auto at = body.find(key);
  return at == std::string::npos ? 0 : std::stod(body.substr(at + key.size()));
}

std::vector<std::string> history_names(Node& node, const std::string& id) {
  std::vector<std::string> names;
  auto r = node.customer(id);
  EXPECT_EQ(r.status, 200) << r.describe();
  if (r.status != 200)
    return names;
  for (auto& h : array_at(r.json(), "history"))
    names.push_back(str_at(h, "name"));
  return names;
}

std::string track_with_n(const std::string& user, const std::string& number) {
  return R"({"type":"track","userId":")" + user + R"(","event":"E","properties":{"n":)" + number + "}}";
}

TEST(StorableInput, NumbersOutsideTheDoubleRangeAreRefusedAtBothEdgesAndTheCustomerStaysReadable) {
  Node node;
  ASSERT_TRUE(node.start());
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  const std::vector<std::string> bad = {"1e400", "-1e400", "1.8e308", std::string(309, '9')};
  ASSERT_TRUE(c.send_line(track("p1", "A", {{"n", 1}})));
  for (const auto& n : bad)
    ASSERT_TRUE(c.send_line(track_with_n("p1", n)));
  ASSERT_TRUE(c.send_line(track("p1", "B", {{"n", 1.7976931348623157e308}})));
  const uint64_t last = bad.size() + 2;
  ASSERT_TRUE(c.wait_ack(last)) << c.transcript();
  ASSERT_EQ(c.nacks().size(), bad.size()) << c.transcript();
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(c.nacks()[i].line, i + 2) << c.transcript();
    EXPECT_NE(c.nacks()[i].error.find("properties.n: number outside the double range"), std::string::npos)
      << c.nacks()[i].error;
  }

  auto one = node.post("/v1/track", R"({"userId":"p1","event":"E","properties":{"n":1e400}})");
  EXPECT_EQ(one.status, 400) << one.describe();
  EXPECT_NE(one.body.find("double range"), std::string::npos) << one.body;
  auto batch = node.post("/v1/batch", R"({"batch":[{"type":"track","userId":"p1","event":"C"},
    {"type":"track","userId":"p1","event":"E","properties":{"n":-1e400}}]})");
  EXPECT_EQ(batch.status, 400) << "a batch is all-or-nothing: " << batch.describe();
  EXPECT_EQ(node.post("/v1/track", R"({"userId":"p1","event":"D"})").status, 200);

  EXPECT_EQ(metric(node, R"(waymark_events_nacked_total{reason="bad_number"})"), 4);
  EXPECT_EQ(metric(node, R"(waymark_events_nacked_total{reason="http_invalid"})"), 2);
  const std::vector<std::string> expected = {"A", "B", "D"};
  EXPECT_EQ(history_names(node, "p1"), expected);

  node.kill9();
  ASSERT_TRUE(node.restart());
  EXPECT_EQ(history_names(node, "p1"), expected) << "every acked input recovered";
  TcpClient again;
  ASSERT_TRUE(again.connect(node.tcp_port()));
  ASSERT_TRUE(again.send_line(track("p1", "F")));
  ASSERT_TRUE(again.wait_ack(1)) << again.transcript();
  EXPECT_TRUE(again.nacks().empty()) << again.transcript();
  EXPECT_EQ(history_names(node, "p1"), (std::vector<std::string>{"A", "B", "D", "F"}));
}

std::string identify_at(const std::string& user, const std::string& plan, const std::string& timestamp) {
  return R"({"type":"identify","userId":")" + user + R"(","traits":{"plan":")" + plan + R"("},"timestamp":")" +
         timestamp + "\"}";
}

TEST(StorableInput, TimestampsOutsideYears0001To9999AreRefusedAndNothingAckedIsLostAtRestart) {
  Node node;
  ASSERT_TRUE(node.start());
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  ASSERT_TRUE(c.send_line(identify_at("t1", "first", "9999-12-31T23:59:59.999Z")));
  ASSERT_TRUE(c.send_line(identify_at("t1", "late", "9999-12-31T23:59:59-01:00")));
  ASSERT_TRUE(c.send_line(identify_at("t1", "early", "0000-01-01T00:00:00+01:00")));
  ASSERT_TRUE(c.send_line(identify_at("t1", "second", "0001-01-01T00:00:00Z")));
  ASSERT_TRUE(c.wait_ack(4)) << c.transcript();
  ASSERT_EQ(c.nacks().size(), 2u) << c.transcript();
  EXPECT_EQ(c.nacks()[0].line, 2u);
  EXPECT_EQ(c.nacks()[1].line, 3u);
  for (const auto& n : c.nacks())
    EXPECT_NE(n.error.find("0001-9999"), std::string::npos) << n.error;
  auto http = node.post("/v1/identify", R"({"userId":"t1","traits":{"plan":"http"},"timestamp":"9999-12-31T23:59:59-01:00"})");
  EXPECT_EQ(http.status, 400) << http.describe();
  EXPECT_EQ(metric(node, R"(waymark_events_nacked_total{reason="bad_value"})"), 2);

  node.kill9();
  ASSERT_TRUE(node.restart());
  auto r = node.customer("t1");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(at_path(r.json(), "profile.traits.plan"), json::value("second")) << r.body;
}

TEST(StorableInput, TheManualClockRefusesToPassYear9999AndStaysWhereItWas) {
  Node node;
  ASSERT_TRUE(node.start());
  auto now = [&] { return str_at(node.get("/api/stats").json(), "now"); };
  const std::string before = now();
  auto overflow = node.post("/api/clock", R"({"advance":"9223372036854775s"})");
  EXPECT_EQ(overflow.status, 400) << overflow.describe();
  EXPECT_NE(overflow.body.find("9999"), std::string::npos) << overflow.body;
  EXPECT_EQ(node.post("/api/clock", R"({"set":"9999-12-31T23:59:59-01:00"})").status, 400);
  EXPECT_EQ(now(), before) << "a refused request leaves the clock alone";

  ASSERT_EQ(node.post("/api/clock", R"({"set":"9999-12-31T23:00:00Z"})").status, 200);
  EXPECT_EQ(node.post("/api/clock", R"({"advance":"1h"})").status, 400) << "one ms past the last instant";
  EXPECT_EQ(now(), "9999-12-31T23:00:00.000Z");
  auto last = node.post("/api/clock", R"({"advance":"59m"})");
  EXPECT_EQ(last.status, 200) << last.describe();
  EXPECT_EQ(now(), "9999-12-31T23:59:00.000Z");
}

}  // namespace
}  // namespace waymark::it
