// GET /metrics is valid Prometheus text exposition and its counters move with
// the traffic; GET /api/stats agrees.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "support/events.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {

/// Parses exposition text into "name{labels}" -> value; fails the test on a
/// line that is not a comment, a blank or a valid sample, or on a sample
/// whose metric family has no TYPE line before it.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN))$)");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  std::map<std::string, double> out;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.empty() || (line.rfind("# HELP ", 0) == 0))
      continue;
    if (std::regex_match(line, m, type)) {
      types[m[1]] = m[2];
      continue;
    }
    if (!std::regex_match(line, m, sample)) {
      ADD_FAILURE() << "not Prometheus text: " << line;
      continue;
    }
    std::string name = m[1];
    std::string family = std::regex_replace(name, std::regex("_(bucket|sum|count)$"), "");
    EXPECT_TRUE(types.count(name) || types.count(family)) << "no TYPE before " << name;
    out[name + std::string(m[2])] = std::stod(m[3]);
  }
  return out;
}

TEST(Metrics, TheExpositionParsesAndCountersMoveWithTraffic) {
  Node node;
  ASSERT_TRUE(node.start());
  auto before = parse_prometheus(node.get("/metrics").body);
  ASSERT_TRUE(before.count("waymark_events_acked_total"));
  EXPECT_EQ(before["waymark_events_acked_total"], 0);

  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(c.send_line(track("m" + std::to_string(i % 5), "Clicked", {}, "mm-" + std::to_string(i))));
  ASSERT_TRUE(c.send_line("not json"));
  ASSERT_TRUE(c.wait_ack(21)) << c.transcript();

  auto after = parse_prometheus(node.get("/metrics").body);
  EXPECT_EQ(after["waymark_events_received_total"], 20);
  EXPECT_EQ(after["waymark_events_acked_total"], 20);
  EXPECT_EQ(after["waymark_events_nacked_total{reason=\"bad_json\"}"], 1);
  EXPECT_GE(after["waymark_commit_batch_writes_count"], 1);
  EXPECT_EQ(after["waymark_commit_batch_writes_sum"], 20);
  EXPECT_EQ(after["waymark_commit_batch_writes_bucket{le=\"+Inf\"}"], after["waymark_commit_batch_writes_count"]);
  EXPECT_GE(after["waymark_commit_duration_seconds_count"], 1);
  EXPECT_EQ(after["waymark_customers_live"], 5);
  EXPECT_EQ(after["waymark_connections_open"], 1);
  EXPECT_TRUE(after.count("waymark_outbox_depth{channel=\"email\"}"));

  auto stats = node.get("/api/stats").json();
  EXPECT_EQ(int_at(stats, "events_acked"), 20);
  EXPECT_EQ(int_at(stats, "events_nacked"), 1);
}

TEST(Metrics, HttpIngestMovesTheSameCountersAndEveryRefusalIsCountedByReason) {
  NodeOptions o;
  o.config = boost::json::object{{"auth", boost::json::object{{"write_keys", boost::json::array{"mk"}}}},
                                 {"limits", boost::json::object{{"request_bytes_max", 4096}}}};
  Node node(o);
  ASSERT_TRUE(node.start());
  auto post = [&](const std::string& path, const std::string& body, const std::string& key) {
    HttpRequest req;
    req.method = "POST";
    req.path = path;
    req.body = body;
    if (!key.empty())
      req.headers.emplace_back("Authorization", basic_auth(key));
    return http_request(node.http_port(), req).status;
  };
  EXPECT_EQ(post("/v1/batch", R"({"batch":[{"type":"track","userId":"h1","event":"A"},
                                          {"type":"identify","userId":"h2","traits":{"x":1}}]})", "mk"), 200);
  EXPECT_EQ(post("/v1/track", R"({"userId":"h1","event":"B"})", "bad"), 401);
  EXPECT_EQ(post("/v1/track", R"({"userId":"h1"})", "mk"), 400);
  EXPECT_EQ(post("/v1/track", std::string(5000, ' '), "mk"), 413);

  auto m = parse_prometheus(node.get("/metrics").body);
  EXPECT_EQ(m["waymark_events_received_total"], 2);
  EXPECT_EQ(m["waymark_events_acked_total"], 2);
  EXPECT_EQ(m["waymark_events_nacked_total{reason=\"http_unauthorized\"}"], 1);
  EXPECT_EQ(m["waymark_events_nacked_total{reason=\"http_invalid\"}"], 1);
  EXPECT_EQ(m["waymark_http_refused_total{reason=\"body_too_large\"}"], 1);
  EXPECT_EQ(m["waymark_customers_known"], 2);
  EXPECT_EQ(m["waymark_customers_live"] + m["waymark_customers_passive"], 2);
  EXPECT_GE(m["waymark_http_connections_open"], 1) << "the scrape itself is an open connection";
  EXPECT_GE(m["waymark_commit_duration_seconds_count"], 1);
}

}  // namespace
}  // namespace waymark::it
