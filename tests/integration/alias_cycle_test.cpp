// Alias lines that would merge customers into each other (issue #12, item 4):
// b<-a then a<-b, a 3-cycle, the same pair on two connections and over HTTP.
// Every line is answered quickly (the merge that would close a cycle is
// nacked "alias cycle ... retry"; sent again, it finds both ids resolved to
// one customer), later events of every id are acked, the ids read back as one
// customer, and the node is idle afterwards (no event circling between
// redirects).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/events.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

using Clock = std::chrono::steady_clock;

/// Far below the 30 s a deadlocked merge waited: an answer within this is "quick".
constexpr int kQuickMs = 5000;

std::string alias(const std::string& user, const std::string& previous) {
  return json::serialize(json::object{{"type", "alias"}, {"userId", user}, {"previousId", previous}});
}

/// Sends `lines` on `c` and waits for every one to be answered; lines nacked
/// with "retry" are sent again (as a client does), at most `rounds` times.
/// Returns the nacks of the last round that are not retryable (empty: all acked).
::testing::AssertionResult send_all_acked(TcpClient& c, std::vector<std::string> lines, int rounds = 5) {
  for (int round = 0; round < rounds && !lines.empty(); ++round) {
    uint64_t first = c.acked() + 1;
    size_t nacks_before = c.nacks().size();
    for (auto& l : lines)
      if (!c.send_line(l))
        return ::testing::AssertionFailure() << "send failed: " << c.last_error();
    if (!c.wait_ack(first + lines.size() - 1, kQuickMs))
      return ::testing::AssertionFailure() << "not answered within " << kQuickMs << " ms\n" << c.transcript();
    std::vector<std::string> again;
    for (size_t i = nacks_before; i < c.nacks().size(); ++i) {
      auto& n = c.nacks()[i];
      if (n.error.find("retry") == std::string::npos)
        return ::testing::AssertionFailure() << "final nack of line " << n.line << ": " << n.error;
      again.push_back(lines.at(n.line - first));
    }
    lines = std::move(again);
  }
  if (!lines.empty())
    return ::testing::AssertionFailure() << lines.size() << " lines still nacked after " << rounds << " rounds\n"
                                         << c.transcript();
  return ::testing::AssertionSuccess();
}

/// The canonical id of `id` and the event names of its history.
std::pair<std::string, std::multiset<std::string>> read_customer(Node& node, const std::string& id) {
  auto r = node.customer(id);
  EXPECT_EQ(r.status, 200) << id << ": " << r.describe();
  std::multiset<std::string> names;
  for (auto& h : array_at(r.json(), "history"))
    names.insert(str_at(h, "name"));
  return {str_at(r.json(), "id"), names};
}

/// waymark_events_nacked_total{reason} from /metrics (0 when absent).
long nacked(Node& node, const std::string& reason) {
  auto body = node.get("/metrics").body;
  std::string key = "waymark_events_nacked_total{reason=\"" + reason + "\"} ";
  auto at = body.find(key);
  return at == std::string::npos ? 0 : std::stol(body.substr(at + key.size()));
}

/// CPU time (user + system, in clock ticks) the process has used so far.
long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the command name may hold spaces
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {  // field 3 is the state
    if (i == 14)
      utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

/// An idle node uses a few ticks a second; an event circling between two
/// managers' redirects keeps a core busy (100 ticks a second). This measures
/// over one second: it is a measurement window, not a wait for anything.
void expect_idle(Node& node) {
  // Refused merges are counted; an event never meets a redirect loop.
  std::cout << "alias_cycle nacks: " << nacked(node, "alias_cycle") << "\n";
  EXPECT_EQ(nacked(node, "alias_loop"), 0);
  long before = cpu_ticks(node.pid());
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  long used = cpu_ticks(node.pid()) - before;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  EXPECT_LT(used * 1000 / std::max<long>(1, ms), 30) << used << " ticks in " << ms << " ms";
}

/// Every id reads back as the same customer holding every id's events.
void expect_one_customer(Node& node, const std::vector<std::string>& ids, const std::multiset<std::string>& names) {
  auto [canonical, history] = read_customer(node, ids.front());
  EXPECT_TRUE(std::find(ids.begin(), ids.end(), canonical) != ids.end()) << canonical;
  for (auto& id : ids)
    EXPECT_EQ(read_customer(node, id).first, canonical) << id << " is not merged into " << canonical;
  for (auto& n : names)
    EXPECT_GE(history.count(n), names.count(n)) << "event " << n << " missing from " << canonical;
}

// Whether the second line finds the first merge done or still waiting is a
// race inside the node: each test runs several rounds on fresh ids, so both
// orders occur (before the fix, a round that hit the wait deadlocked for 30 s).
constexpr int kRounds = 5;

TEST(AliasCycle, TwoAliasLinesInOppositeDirectionsOnOneConnectionEndAsOneCustomer) {
  Node node;
  ASSERT_TRUE(node.start());
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  for (int round = 0; round < kRounds; ++round) {
    std::string a = "a" + std::to_string(round), b = "b" + std::to_string(round);
    ASSERT_TRUE(send_all_acked(c, {track(a, "A1"), track(b, "B1")}));
    ASSERT_TRUE(send_all_acked(c, {alias(b, a), alias(a, b), track(a, "A2"), track(b, "B2")}));
    // Later events of both ids are acked at once (no redirect loop holds them).
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(send_all_acked(c, {track(a, "A3"), track(b, "B3")}, 1)) << "round " << round;
    expect_one_customer(node, {a, b}, {"A1", "B1", "A2", "B2", "A3", "B3"});
  }
  expect_idle(node);
}

TEST(AliasCycle, AThreeCycleOfAliasLinesEndsAsOneCustomer) {
  Node node;
  ASSERT_TRUE(node.start());
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  for (int round = 0; round < kRounds; ++round) {
    auto id = [&](const char* p) { return p + std::to_string(round); };
    ASSERT_TRUE(send_all_acked(c, {track(id("a"), "A1"), track(id("b"), "B1"), track(id("c"), "C1")}));
    // b<-a, c<-b, a<-c
    ASSERT_TRUE(send_all_acked(c, {alias(id("b"), id("a")), alias(id("c"), id("b")), alias(id("a"), id("c"))}));
    ASSERT_TRUE(send_all_acked(c, {track(id("a"), "A2"), track(id("b"), "B2"), track(id("c"), "C2")}, 1));
    expect_one_customer(node, {id("a"), id("b"), id("c")}, {"A1", "B1", "C1", "A2", "B2", "C2"});
  }
  expect_idle(node);
}

TEST(AliasCycle, TheSamePairOnTwoConnectionsAtOnceEndsAsOneCustomer) {
  Node node;
  ASSERT_TRUE(node.start());
  for (int round = 0; round < kRounds; ++round) {
    std::string a = "a" + std::to_string(round), b = "b" + std::to_string(round);
    TcpClient c1, c2;
    ASSERT_TRUE(c1.connect(node.tcp_port()));
    ASSERT_TRUE(c2.connect(node.tcp_port()));
    ASSERT_TRUE(send_all_acked(c1, {track(a, "A1"), track(b, "B1")}));
    ::testing::AssertionResult r1 = ::testing::AssertionSuccess(), r2 = r1;
    std::thread t([&] { r2 = send_all_acked(c2, {alias(a, b), track(a, "A2")}); });
    r1 = send_all_acked(c1, {alias(b, a), track(b, "B2")});
    t.join();
    ASSERT_TRUE(r1);
    ASSERT_TRUE(r2);
    ASSERT_TRUE(send_all_acked(c1, {track(a, "A3"), track(b, "B3")}, 1));
    expect_one_customer(node, {a, b}, {"A1", "B1", "A2", "B2", "A3", "B3"});
  }
  expect_idle(node);
}

TEST(AliasCycle, TheSamePairOverHttpAtOnceEndsAsOneCustomer) {
  Node node;
  ASSERT_TRUE(node.start());
  // 503 (retry) is the answer to the merge that would close the cycle; sent again it succeeds.
  auto post_until_ok = [&](const std::string& path, const json::object& body) {
    HttpResponse r;
    for (int i = 0; i < 5; ++i) {
      r = node.http("POST", path, json::serialize(body), kQuickMs);
      if (r.status != 503)
        break;
    }
    return r;
  };
  for (int round = 0; round < kRounds; ++round) {
    std::string a = "ha" + std::to_string(round), b = "hb" + std::to_string(round);
    ASSERT_EQ(post_until_ok("/v1/track", {{"userId", a}, {"event", "A1"}}).status, 200);
    ASSERT_EQ(post_until_ok("/v1/track", {{"userId", b}, {"event", "B1"}}).status, 200);
    HttpResponse r1, r2;
    std::thread t([&] { r2 = post_until_ok("/v1/alias", {{"userId", a}, {"previousId", b}}); });
    r1 = post_until_ok("/v1/alias", {{"userId", b}, {"previousId", a}});
    t.join();
    ASSERT_EQ(r1.status, 200) << r1.describe();
    ASSERT_EQ(r2.status, 200) << r2.describe();
    ASSERT_EQ(post_until_ok("/v1/track", {{"userId", a}, {"event", "A2"}}).status, 200);
    ASSERT_EQ(post_until_ok("/v1/track", {{"userId", b}, {"event", "B2"}}).status, 200);
    expect_one_customer(node, {a, b}, {"A1", "B1", "A2", "B2"});
  }
  expect_idle(node);
}

}  // namespace
}  // namespace waymark::it
