// Alias merges across two owners (PRODUCT.md §9, actors/cluster_merge.cpp),
// with three real `waymark` members on loopback: A is owned by one member, B
// by another, the third is where the client talks. An alias leaves one
// customer, answered for B from every member; a kill -9 of either owner while
// the merge runs loses no acked event and leaves B's history in exactly one
// place; a timer of B fires once, from A, after the merge.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <set>
#include <thread>

#include "support/cluster.hpp"
#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

std::string alias_line(const std::string& into, const std::string& from, const std::string& message_id) {
  return json::serialize(
    json::object{{"type", "alias"}, {"userId", into}, {"previousId", from}, {"messageId", message_id}});
}

/// How many history entries of a customer view have this name.
size_t named(const json::value& view, const std::string& name) {
  size_t n = 0;
  for (auto& h : array_at(view, "history"))
    if (str_at(h, "name") == name)
      ++n;
  return n;
}

bool merged_into(const json::value& view, const std::string& into, const std::string& from) {
  if (str_at(view, "id") != into)
    return false;
  auto ids = at_path(view, "profile.merged_ids");
  if (!ids.is_array())
    return false;
  for (auto& m : ids.get_array())
    if (m.is_string() && m.get_string() == from)
      return true;
  return false;
}

class ClusterMerge : public ::testing::Test {
public:
  void SetUp() override {
    ports_ = free_ports(3);
    nodes_ = start_members(ports_);
    ASSERT_EQ(nodes_.size(), 3u);
    wait_all_up();
  }

  void wait_all_up() {
    for (auto& n : nodes_)
      ASSERT_TRUE(eventually([&] { return all_up(*n); })) << n->logs();
  }
  Node& node(size_t i) { return *nodes_[i]; }
  size_t index_of(const std::string& address) const {
    for (size_t i = 0; i < 3; ++i)
      if (addr(ports_[i]) == address)
        return i;
    return 3;
  }

  /// Ids "<prefix>a" owned by member `a_owner` and "<prefix>b..." owned by `b_owner`.
  std::pair<std::string, std::string> pick(const std::string& prefix, size_t a_owner, size_t b_owner) {
    std::string a, b;
    for (int i = 0; (a.empty() || b.empty()) && i < 1000; ++i) {
      auto id = prefix + std::to_string(i);
      auto owner = index_of(owner_of(node(0), id));
      if (a.empty() && owner == a_owner)
        a = id;
      else if (b.empty() && owner == b_owner)
        b = id;
    }
    return {a, b};
  }

  /// POSTs one event to member `via` until it is acked (200); a 503 (retry:
  /// an owner down or a merge in flight) is sent again.
  ::testing::AssertionResult ingest(size_t via, const std::string& type, const std::string& body,
                                    int timeout_ms = 20000) {
    HttpResponse last;
    bool ok = eventually(
      [&] {
        if (!node(via).running())
          return false;
        last = node(via).post("/v1/" + type, body);
        return last.status == 200;
      },
      timeout_ms);
    if (ok)
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << type << " " << body << ": " << last.describe();
  }
  ::testing::AssertionResult track_event(size_t via, const std::string& user, const std::string& event,
                                         const std::string& message_id) {
    return ingest(via, "track", track(user, event, {}, message_id));
  }

  int64_t node_stat(size_t asker, size_t member, const std::string& key) {
    auto stats = node(asker).get("/api/stats");
    if (stats.status != 200)
      return -1;
    auto j = stats.json();
    if (!j.is_object())
      return -1;
    auto* nodes = j.as_object().if_contains("nodes");
    if (!nodes || !nodes->is_object())
      return -1;
    auto* m = nodes->as_object().if_contains(addr(ports_[member]));
    return m ? int_at(*m, key) : -1;
  }

  /// B's history is held by A alone, answered for A and B from every member;
  /// `b_events` are B's event names, each in A's history exactly once.
  ::testing::AssertionResult one_customer(const std::string& a, const std::string& b,
                                          const std::vector<std::string>& b_events) {
    for (size_t i = 0; i < 3; ++i)
      for (auto& id : {a, b}) {
        auto r = node(i).customer(id);
        if (r.status != 200 || !merged_into(r.json(), a, b))
          return ::testing::AssertionFailure() << "member " << i << " on " << id << ": " << r.describe();
        for (auto& e : b_events)
          if (named(r.json(), e) != 1)
            return ::testing::AssertionFailure() << e << " not once: " << r.describe();
      }
    return ::testing::AssertionSuccess();
  }

  std::vector<uint16_t> ports_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(ClusterMerge, AnAliasAcrossOwnersLeavesOneCustomerAndLaterEventsOfTheOldIdReachIt) {
  // Member 0 owns A, member 1 owns B, the client talks to member 2.
  auto [a, b] = pick("m", 0, 1);
  ASSERT_FALSE(a.empty() || b.empty());
  ASSERT_TRUE(track_event(2, b, "Browsed", "b-1"));
  ASSERT_TRUE(ingest(2, "identify", identify(a, {{"plan", "pro"}}, "a-1")));
  EXPECT_EQ(node_stat(2, 0, "customers_known"), 1);
  EXPECT_EQ(node_stat(2, 1, "customers_known"), 1);
  ASSERT_TRUE(ingest(2, "alias", alias_line(a, b, "al-1")));
  // The alias was acked after A committed the merged state.
  auto merged = node(0).customer(a);
  ASSERT_EQ(merged.status, 200);
  EXPECT_TRUE(merged_into(merged.json(), a, b)) << merged.describe();
  EXPECT_EQ(named(merged.json(), "Browsed"), 1u) << merged.describe();
  EXPECT_EQ(str_at(at_path(merged.json(), "profile.traits"), "plan"), "pro");
  // B's owner erases B once it hears the merge committed: one customer left.
  ASSERT_TRUE(eventually([&] { return node_stat(2, 1, "customers_known") == 0; })) << node(1).logs();
  EXPECT_EQ(node_stat(2, 0, "customers_known"), 1);
  EXPECT_TRUE(one_customer(a, b, {"Browsed"}));
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(str_at(node(i).get("/api/customers/" + b + "/inbox").json(), "customer"), a) << "member " << i;
  // Later events for B, sent to any member, land in A (B's key still hashes
  // to member 1, which follows the alias to member 0; the ack comes back).
  for (size_t via = 0; via < 3; ++via)
    ASSERT_TRUE(track_event(via, b, "Later " + std::to_string(via), "b-later-" + std::to_string(via)));
  auto after = node(1).customer(b);
  ASSERT_EQ(after.status, 200);
  for (size_t via = 0; via < 3; ++via)
    EXPECT_EQ(named(after.json(), "Later " + std::to_string(via)), 1u) << after.describe();
  EXPECT_EQ(node_stat(2, 1, "customers_known"), 0) << "no new B at its owner";
  // The same alias sent again merges nothing more (A already holds B).
  ASSERT_TRUE(ingest(2, "alias", alias_line(a, b, "al-2")));
  EXPECT_TRUE(one_customer(a, b, {"Browsed", "Later 0"}));
  // An identify carrying both ids merges across owners the same way (here
  // the known id is owned by member 1 and the anonymous one by member 0).
  auto [known, anon] = pick("i", 1, 0);
  ASSERT_TRUE(track_event(2, anon, "Anonymous visit", "anon-1"));
  ASSERT_TRUE(ingest(2, "identify",
                     json::serialize(json::object{{"type", "identify"}, {"userId", known}, {"anonymousId", anon},
                                                  {"traits", json::object{{"email", "k@example.com"}}},
                                                  {"messageId", "id-both"}})));
  ASSERT_TRUE(eventually([&] { return one_customer(known, anon, {"Anonymous visit"}); }))
    << one_customer(known, anon, {"Anonymous visit"}).message();
  EXPECT_EQ(node_stat(2, 0, "customers_known"), 1) << "A; the anonymous id erased";
}

TEST_F(ClusterMerge, OppositeAliasesAtOnceAcrossOwnersEndAsOneCustomer) {
  for (int round = 0; round < 3; ++round) {
    auto [a, b] = pick("x" + std::to_string(round) + "-", 0, 1);
    ASSERT_TRUE(track_event(2, a, "A did", a + "-e"));
    ASSERT_TRUE(track_event(2, b, "B did", b + "-e"));
    // a <- b at member 0 and b <- a at member 1, each sent until acked: one
    // wins, the other then finds both ids resolved to one customer.
    std::thread other([&, a = a, b = b] { EXPECT_TRUE(ingest(0, "alias", alias_line(b, a, "ab-" + a))); });
    EXPECT_TRUE(ingest(1, "alias", alias_line(a, b, "ba-" + b)));
    other.join();
    std::string winner, loser;
    ASSERT_TRUE(eventually([&] {
      auto va = node(2).customer(a).json(), vb = node(2).customer(b).json();
      if (str_at(va, "id") != str_at(vb, "id"))
        return false;
      winner = str_at(va, "id");
      loser = winner == a ? b : a;
      return merged_into(va, winner, loser) && named(va, "A did") == 1 && named(va, "B did") == 1;
    })) << node(2).customer(a).describe() << node(2).customer(b).describe();
    ASSERT_TRUE(eventually([&] {
      return node_stat(2, 0, "customers_known") + node_stat(2, 1, "customers_known") == round + 1;
    })) << "one customer per round";
  }
}

/// Kills member `victim` (A's or B's owner) at several moments of an alias
/// merge sent by a client at the third member, restarts it, sends the alias
/// again until acked, and checks B's history is in exactly one place.
void kill_during_merge(ClusterMerge& t, bool kill_a_owner) {
  const size_t a_owner = 0, b_owner = 1, client = 2;
  const size_t victim = kill_a_owner ? a_owner : b_owner;
  const int delays_ms[] = {0, 3, 15, -1};  // -1: after the ack
  int round = 0;
  for (int delay : delays_ms) {
    SCOPED_TRACE("kill after " + std::to_string(delay) + " ms");
    auto [a, b] = t.pick("k" + std::to_string(round++) + "-", a_owner, b_owner);
    ASSERT_FALSE(a.empty() || b.empty());
    auto b_event = "Seen " + b;
    ASSERT_TRUE(t.track_event(client, b, b_event, b + "-e"));
    ASSERT_TRUE(t.track_event(client, a, "Known " + a, a + "-e"));
    auto line = alias_line(a, b, a + "-alias");
    TcpClient c;
    ASSERT_TRUE(c.connect(t.node(client).tcp_port()));
    ASSERT_TRUE(c.send_line(line));
    if (delay < 0)
      ASSERT_TRUE(c.wait_ack(1)) << c.transcript();
    else if (delay > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));  // where the kill lands, not a sync
    t.node(victim).kill9();
    ASSERT_TRUE(t.node(victim).restart());
    t.wait_all_up();
    // The client resends what was not acked (the alias, same messageId).
    ASSERT_TRUE(t.ingest(client, "alias", line));
    ASSERT_TRUE(eventually([&] { return t.one_customer(a, b, {b_event, "Known " + a}); }))
      << t.one_customer(a, b, {b_event, "Known " + a}).message() << t.node(victim).logs();
    // B's records are gone from its owner (A's owner holds A; B's holds none
    // of this round's customers).
    ASSERT_TRUE(eventually([&] { return t.node_stat(client, b_owner, "customers_known") == 0; }))
      << t.node(b_owner).logs();
    EXPECT_EQ(t.node_stat(client, a_owner, "customers_known"), round);
  }
}

TEST_F(ClusterMerge, AKillOfTheMergingCustomersOwnerLeavesTheCustomerInOnePlace) { kill_during_merge(*this, true); }

TEST_F(ClusterMerge, AKillOfTheMergedCustomersOwnerLeavesTheCustomerInOnePlace) { kill_during_merge(*this, false); }

TEST_F(ClusterMerge, ATimerOfTheMergedCustomerFiresOnceFromTheMergingOne) {
  ASSERT_EQ(node(0).deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node(0).deploy_template(fixtures::kReminderTemplate).status, 201);
  ASSERT_EQ(node(0).deploy_journey(fixtures::kOnboardingJourney).status, 201);
  auto [a, b] = pick("t", 0, 1);
  ASSERT_TRUE(track_event(2, b, "Signed Up", "b-su"));  // B waits 2d at member 1
  ASSERT_TRUE(ingest(2, "identify", identify(a, {{"plan", "pro"}}, "a-1")));
  EXPECT_EQ(node_stat(2, 1, "timers_pending"), 1);
  EXPECT_EQ(node_stat(2, 0, "timers_pending"), 0);
  ASSERT_TRUE(ingest(2, "alias", alias_line(a, b, "al")));
  // The wait moved to A (member 0); B's timer is deleted at member 1 with the finish.
  ASSERT_TRUE(eventually([&] { return node_stat(2, 1, "timers_pending") == 0; })) << node(1).logs();
  EXPECT_EQ(node_stat(2, 0, "timers_pending"), 1);
  auto moved = node(2).customer(a).json();
  ASSERT_EQ(array_at(moved, "instances").size(), 1u) << json::serialize(moved);
  EXPECT_EQ(str_at(array_at(moved, "instances")[0], "step"), "wait2d");
  auto advanced = node(2).advance_clock("3d");
  ASSERT_EQ(advanced.status, 200) << advanced.describe();
  auto c = node(2).customer(b).json();
  std::set<std::string> fired;  // steps the 2d timer ran (the sends are suppressed: no address)
  for (auto& t : array_at(c, "trace"))
    if (str_at(t, "trigger").rfind("timer", 0) == 0)
      fired.insert(str_at(t, "step"));
  EXPECT_EQ(fired, (std::set<std::string>{"reminder", "done"})) << json::serialize(c);
  EXPECT_EQ(array_at(c, "instances").size(), 0u) << "the journey ended: " << json::serialize(c);
  auto stats = node(1).get("/api/stats").json();
  EXPECT_EQ(at_path(stats, "timers_fired").as_int64(), 1) << "once, cluster-wide";
  EXPECT_EQ(at_path(stats, "timers_pending").as_int64(), 0);
  EXPECT_EQ(node_stat(1, 0, "timers_fired"), 1) << "from A's owner";
}

}  // namespace
}  // namespace waymark::it
