// Bad input through the real binary (PRODUCT.md §5, §8): each bad line gets a
// nack with its line number and changes nothing; an oversized line or a bad
// hello is fatal for its connection only; invalid deploys are refused.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "support/events.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

std::string deeply_nested(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i)
    s += "{\"a\":";
  s += "1";
  s += std::string(depth, '}');
  return R"({"type":"track","userId":"bad-1","event":"X","properties":)" + s + "}";
}

struct BadLine {
  const char* what;
  std::string text;
};

std::vector<BadLine> bad_lines() {
  return {
    {"broken JSON", R"({"type":"track","userId":"bad-1",)"},
    {"an array", "[1,2]"},
    {"a number", "42"},
    {"no userId or anonymousId", R"({"type":"track","event":"X"})"},
    {"track without event", R"({"type":"track","userId":"bad-1"})"},
    {"numeric userId", R"({"type":"track","userId":5,"event":"X"})"},
    {"string properties", R"({"type":"track","userId":"bad-1","event":"X","properties":"x"})"},
    {"timestamp not a date", R"({"type":"track","userId":"bad-1","event":"X","timestamp":"not a date"})"},
    {"nesting depth 100 > 64", deeply_nested(100)},
    {"unknown type", R"({"type":"teleport","userId":"bad-1"})"},
  };
}

TEST(BadInput, EachBadLineIsNackedWithItsLineNumberAndTheConnectionStaysUsable) {
  Node node;
  ASSERT_TRUE(node.start());
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  const auto bad = bad_lines();
  for (const auto& b : bad)
    ASSERT_TRUE(c.send_line(b.text)) << c.last_error();
  const uint64_t good_line = bad.size() + 1;
  ASSERT_TRUE(c.send_line(identify("good-1", {{"email", "good@example.com"}})));
  ASSERT_TRUE(c.wait_ack(good_line)) << c.transcript();

  std::map<uint64_t, Nack> by_line;
  for (const auto& n : c.nacks()) {
    EXPECT_EQ(by_line.count(n.line), 0u) << "line " << n.line << " nacked twice";
    by_line[n.line] = n;
  }
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE(bad[i].what);
    auto it = by_line.find(i + 1);
    ASSERT_NE(it, by_line.end()) << "no nack for line " << i + 1 << "\n" << c.transcript();
    EXPECT_FALSE(it->second.error.empty());
    EXPECT_LT(it->second.acked_when_received, i + 1) << "nack arrived after the ack covering its line";
  }
  EXPECT_EQ(by_line.count(good_line), 0u) << "the valid line was nacked: " << by_line[good_line].error;
  EXPECT_EQ(c.nacks().size(), bad.size()) << c.transcript();
  EXPECT_TRUE(c.protocol_violations().empty()) << c.protocol_violations().front();
  EXPECT_FALSE(c.fatal_error()) << *c.fatal_error();

  ASSERT_TRUE(c.send_line(track("good-1", "Still Here")));
  EXPECT_TRUE(c.wait_ack(good_line + 1)) << c.transcript();

  EXPECT_EQ(node.get("/healthz").status, 200);
  EXPECT_EQ(node.customer("bad-1").status, 404) << "a rejected line changed state";
  EXPECT_EQ(node.customer("5").status, 404) << "a numeric userId created a customer";
  auto good = node.customer("good-1");
  ASSERT_EQ(good.status, 200) << good.describe();
  EXPECT_EQ(at_path(good.json(), "profile.traits.email"), json::value("good@example.com"));
}

NodeOptions small_lines() {
  NodeOptions o;
  o.config = json::object{{"limits", json::object{{"line_bytes_max", 4096}}}};
  return o;
}

TEST(BadInput, AnOversizedLineIsFatalForItsConnectionOnlyAndOthersKeepGettingAcks) {
  Node node(small_lines());
  ASSERT_TRUE(node.start());
  TcpClient other;
  ASSERT_TRUE(other.connect(node.tcp_port()));
  ASSERT_TRUE(other.send_line(identify("calm-1", {{"plan", "free"}})));
  ASSERT_TRUE(other.wait_ack(1)) << other.transcript();

  TcpClient big;
  ASSERT_TRUE(big.connect(node.tcp_port()));
  ASSERT_TRUE(big.send_line(identify("big-0", {{"plan", "free"}})));
  ASSERT_TRUE(big.wait_ack(1)) << big.transcript();
  // Just over the limit, so the server has read all of it when it gives up
  // (unread bytes at its close would make a RST that can eat the fatal line).
  const std::string huge = track("huge-1", "Huge", {{"blob", std::string(4200, 'x')}});
  ASSERT_TRUE(big.send_raw(huge.substr(0, 3000)));  // below the limit so far, no newline

  ASSERT_TRUE(other.send_line(track("calm-1", "Tick")));
  ASSERT_TRUE(other.wait_ack(2)) << "a half-sent line on another connection stalled this one\n" << other.transcript();

  big.send_raw(huge.substr(3000) + "\n");  // may fail once the server closed: that is fine
  ASSERT_TRUE(big.wait_closed()) << "the connection stayed open after an oversized line\n" << big.transcript();
  ASSERT_TRUE(big.fatal_error()) << "no {\"fatal\":true} before the close\n" << big.transcript();
  EXPECT_FALSE(big.fatal_error()->empty());

  ASSERT_TRUE(other.send_line(track("calm-1", "Tock")));
  EXPECT_TRUE(other.wait_ack(3)) << other.transcript();
  EXPECT_EQ(node.get("/healthz").status, 200);
  EXPECT_EQ(node.customer("huge-1").status, 404);
  EXPECT_EQ(node.customer("big-0").status, 200) << "the acked line before the oversized one was lost";
}

NodeOptions with_write_key() {
  NodeOptions o;
  o.config = json::object{{"auth", json::object{{"write_keys", json::array{"secret-key"}}}}};
  return o;
}

TEST(BadInput, AWrongOrMissingHelloIsFatalWhenWriteKeysAreConfigured) {
  Node node(with_write_key());
  ASSERT_TRUE(node.start());

  TcpClient wrong;
  ASSERT_TRUE(wrong.connect(node.tcp_port()));
  // Nothing follows the bad hello: unread bytes at the server's close would turn
  // its FIN into a RST and could discard the fatal line before we read it.
  ASSERT_TRUE(wrong.send_line(R"({"type":"hello","writeKey":"guess"})"));
  ASSERT_TRUE(wrong.wait_closed()) << wrong.transcript();
  EXPECT_TRUE(wrong.fatal_error()) << wrong.transcript();
  EXPECT_EQ(wrong.acked(), 0u) << wrong.transcript();

  TcpClient missing;
  ASSERT_TRUE(missing.connect(node.tcp_port()));
  missing.send_line(identify("intruder-2", {{"plan", "free"}}));
  ASSERT_TRUE(missing.wait_closed()) << missing.transcript();
  EXPECT_TRUE(missing.fatal_error()) << missing.transcript();

  TcpClient right;
  ASSERT_TRUE(right.connect(node.tcp_port()));
  ASSERT_TRUE(right.send_line(R"({"type":"hello","writeKey":"secret-key"})"));
  ASSERT_TRUE(right.send_line(identify("friend-1", {{"plan", "free"}})));
  EXPECT_TRUE(right.wait_ack(2)) << right.transcript();

  EXPECT_EQ(node.customer("intruder-2").status, 404);
  EXPECT_EQ(node.customer("friend-1").status, 200);
}

bool has_error_path_starting_with(const HttpResponse& r, const std::string& prefix) {
  for (const auto& e : array_at(r.json(), "errors"))
    if (str_at(e, "path").rfind(prefix, 0) == 0 && !str_at(e, "message").empty())
      return true;
  return false;
}

TEST(BadInput, InvalidJourneysAndTemplatesAreRefusedWithPathsAndNothingIsDeployed) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.deploy_template(R"({"id":"hello","channel":"email","subject":"Hi","body":"Hi."})").status, 201);

  auto broken = node.put("/api/journeys/broken", R"({"id":"broken","steps":{)");
  EXPECT_TRUE(broken.status == 400 || broken.status == 422) << broken.describe();
  EXPECT_FALSE(broken.body.empty());

  auto unknown_type = node.put("/api/journeys/teleporter", R"({
    "id": "teleporter", "name": "T", "entry": {"event": "Signed Up"}, "start": "s1",
    "steps": {"s1": {"type": "teleport", "next": "done"}, "done": {"type": "exit"}}})");
  EXPECT_EQ(unknown_type.status, 422) << unknown_type.describe();
  EXPECT_TRUE(has_error_path_starting_with(unknown_type, "steps.s1")) << unknown_type.body;

  auto unknown_template = node.put("/api/journeys/ghost", R"({
    "id": "ghost", "name": "G", "entry": {"event": "Signed Up"}, "start": "s1",
    "steps": {"s1": {"type": "send", "channel": "email", "template": "nope", "next": "done"},
              "done": {"type": "exit"}}})");
  EXPECT_EQ(unknown_template.status, 422) << unknown_template.describe();
  EXPECT_TRUE(has_error_path_starting_with(unknown_template, "steps.s1")) << unknown_template.body;

  auto bad_template = node.put("/api/templates/holey", R"({"id":"holey","channel":"email","subject":"Hi {{","body":"x"})");
  EXPECT_EQ(bad_template.status, 422) << bad_template.describe();
  EXPECT_FALSE(array_at(bad_template.json(), "errors").empty()) << bad_template.body;

  for (const char* id : {"broken", "teleporter", "ghost"})
    EXPECT_EQ(node.get(std::string("/api/journeys/") + id).status, 404) << id << " was deployed";
  auto list = node.get("/api/journeys");
  EXPECT_EQ(list.status, 200) << list.describe();
  for (const char* id : {"\"broken\"", "\"teleporter\"", "\"ghost\""})
    EXPECT_EQ(list.body.find(id), std::string::npos) << id << " listed: " << list.body;
  EXPECT_EQ(node.get("/healthz").status, 200);
}

}  // namespace
}  // namespace waymark::it
