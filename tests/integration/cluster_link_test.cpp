// Cluster links (PRODUCT.md §9, the first part of issue #13) between real
// `waymark` processes on loopback: members find each other and agree on one
// view, a node with a different member list is refused with both views named
// on both sides, and a killed member shows as down and comes back up after its
// restart.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "support/cli.hpp"
#include "support/cluster.hpp"
#include "support/events.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"
#include "waymark/cluster.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

class ClusterLinks : public ::testing::Test {
protected:
  void SetUp() override {
    ports_ = free_ports(4);  // three members and a stranger
    stranger_port_ = ports_.back();
    ports_.pop_back();
    nodes_ = start_members(ports_);
    ASSERT_EQ(nodes_.size(), 3u);
  }

  std::vector<uint16_t> ports_;
  uint16_t stranger_port_ = 0;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(ClusterLinks, ThreeMembersSeeEachOtherUpWithOneViewAndOneOwnerPerPartition) {
  for (auto& n : nodes_)
    ASSERT_TRUE(eventually([&] { return all_up(*n); })) << n->get("/api/cluster").describe() << n->logs();
  auto first = nodes_[0]->get("/api/cluster").json();
  std::map<int64_t, std::string> owner;
  for (auto& m : array_at(first, "members"))
    for (auto& p : m.as_object().at("partitions").as_array())
      EXPECT_TRUE(owner.emplace(p.as_int64(), str_at(m, "address")).second) << "partition " << p << " owned twice";
  EXPECT_EQ(owner.size(), 32u) << "every partition has exactly one owner";
  for (auto& n : nodes_) {
    auto view = n->get("/api/cluster").json();
    EXPECT_EQ(at_path(view, "membership_hash"), at_path(first, "membership_hash"));
    EXPECT_EQ(at_path(view, "members"), at_path(first, "members")) << "the same owners everywhere";
  }
  EXPECT_EQ(str_at(nodes_[1]->get("/api/cluster").json(), "this"), addr(ports_[1]));
  EXPECT_NE(nodes_[2]->get("/metrics").body.find("waymark_cluster_members_up 3"), std::string::npos)
    << nodes_[2]->get("/metrics").body;
}

TEST_F(ClusterLinks, ANodeWithAnotherMemberListIsRefusedAndBothSidesNameBothViews) {
  for (auto& n : nodes_)
    ASSERT_TRUE(eventually([&] { return all_up(*n); }));
  // It lists only the first member (and itself): a different view.
  auto stranger_port = stranger_port_;
  Node stranger(member(stranger_port, {ports_[0]}));
  ASSERT_TRUE(stranger.start());
  auto names_both = [&](Node& n) {
    auto logs = n.logs(65536);
    return logs.find("differs from this node's") != std::string::npos &&
           logs.find(addr(stranger_port)) != std::string::npos && logs.find(addr(ports_[2])) != std::string::npos;
  };
  EXPECT_TRUE(eventually([&] { return names_both(*nodes_[0]); })) << nodes_[0]->logs();
  EXPECT_TRUE(eventually([&] { return names_both(stranger); })) << stranger.logs();
  auto up = members_up(stranger);
  EXPECT_FALSE(up[addr(ports_[0])]) << "the stranger must not count the member that refused it as up";
  EXPECT_TRUE(all_up(*nodes_[0])) << "the members' own links are unaffected";
  EXPECT_EQ(members_up(*nodes_[0]).count(addr(stranger_port)), 0u);
}

TEST_F(ClusterLinks, AKilledMemberShowsDownAndIsUpAgainAfterItsRestart) {
  for (auto& n : nodes_)
    ASSERT_TRUE(eventually([&] { return all_up(*n); }));
  // Two members in turn: with ports chosen at run time either may be the one
  // the other dials.
  for (size_t victim : {size_t{0}, size_t{2}}) {
    nodes_[victim]->kill9();
    for (size_t i = 0; i < 3; ++i) {
      if (i == victim)
        continue;
      EXPECT_TRUE(eventually([&] { return !members_up(*nodes_[i])[addr(ports_[victim])]; }))
        << "member " << i << " still sees " << victim << " up";
    }
    ASSERT_TRUE(nodes_[victim]->restart());
    for (auto& n : nodes_)
      EXPECT_TRUE(eventually([&] { return all_up(*n); })) << n->get("/api/cluster").describe() << n->logs();
  }
}

/// How many history entries of `customer` (at `node`) are named `name`.
int history_count(Node& node, const std::string& customer, const std::string& name) {
  int n = 0;
  for (auto& h : array_at(node.customer(customer).json(), "history"))
    n += str_at(h, "name") == name;
  return n;
}

TEST_F(ClusterLinks, EventsSentToOneMemberAreCommittedAtTheirOwnersBeforeTheAck) {
  for (auto& n : nodes_)
    ASSERT_TRUE(eventually([&] { return all_up(*n); }));
  TcpClient c;
  ASSERT_TRUE(c.connect(nodes_[0]->tcp_port()));
  const int customers = 40;
  for (int i = 0; i < customers; ++i)
    ASSERT_TRUE(c.send_line(track("fw" + std::to_string(i), "Forwarded", {}, "fw-m" + std::to_string(i))));
  ASSERT_TRUE(c.wait_ack(customers)) << c.transcript();
  EXPECT_TRUE(c.nacks().empty()) << c.transcript();
  std::map<std::string, int> per_owner;
  for (int i = 0; i < customers; ++i) {
    auto id = "fw" + std::to_string(i);
    auto owner = owner_of(*nodes_[0], id);
    ++per_owner[owner];
    for (size_t k = 0; k < 3; ++k) {
      bool owns = addr(ports_[k]) == owner;
      // Read from any member, the customer is answered by its owner.
      EXPECT_EQ(history_count(*nodes_[k], id, "Forwarded"), 1) << id << " read at " << addr(ports_[k]);
      EXPECT_EQ(str_at(nodes_[k]->customer(id).json(), "owner"), owner) << id;
    }
  }
  EXPECT_EQ(per_owner.size(), 3u) << "40 customers over 3 members: every member owns some";
  // Each member stores only its own customers.
  auto stats = nodes_[1]->get("/api/stats").json();
  EXPECT_EQ(at_path(stats, "customers_known").as_int64(), customers) << json::serialize(stats);
  for (size_t k = 0; k < 3; ++k) {
    auto node_stats = stats.as_object().at("nodes").as_object().at(addr(ports_[k]));
    EXPECT_EQ(at_path(node_stats, "customers_known").as_int64(), per_owner[addr(ports_[k])]) << addr(ports_[k]);
  }
}

TEST_F(ClusterLinks, AnOwnerDownNacksItsPartitionsWithRetryOthersFlowAndResentEventsApplyOnce) {
  for (auto& n : nodes_)
    ASSERT_TRUE(eventually([&] { return all_up(*n); }));
  nodes_[1]->kill9();
  ASSERT_TRUE(eventually([&] { return !members_up(*nodes_[0])[addr(ports_[1])]; }));
  const int customers = 40;
  std::vector<std::string> lines;
  for (int i = 0; i < customers; ++i)
    lines.push_back(track("od" + std::to_string(i), "Ordered", {}, "od-m" + std::to_string(i)));
  TcpClient c;
  ASSERT_TRUE(c.connect(nodes_[0]->tcp_port()));
  for (auto& l : lines)
    ASSERT_TRUE(c.send_line(l));
  ASSERT_TRUE(c.wait_ack(customers)) << "every line is answered while an owner is down: " << c.transcript();
  std::set<uint64_t> nacked;
  for (auto& n : c.nacks()) {
    EXPECT_NE(n.error.find("retry"), std::string::npos) << n.error;
    nacked.insert(n.line);
  }
  for (int i = 0; i < customers; ++i) {
    bool down_owner = owner_of(*nodes_[0], "od" + std::to_string(i)) == addr(ports_[1]);
    EXPECT_EQ(nacked.count(static_cast<uint64_t>(i + 1)), down_owner ? 1u : 0u) << "line " << i + 1;
  }
  ASSERT_FALSE(nacked.empty()) << "the killed member owns some of 40 customers";
  // Over HTTP, an event for the down owner's partition is a 503 with Retry-After.
  std::string down_customer;
  for (int i = 0; i < customers && down_customer.empty(); ++i)
    if (nacked.count(static_cast<uint64_t>(i + 1)))
      down_customer = "od" + std::to_string(i);
  auto http_nack = nodes_[0]->post("/v1/track", R"({"userId":")" + down_customer + R"(","event":"Ordered"})");
  EXPECT_EQ(http_nack.status, 503) << http_nack.describe();
  EXPECT_EQ(http_nack.headers["retry-after"], "1") << http_nack.describe();

  ASSERT_TRUE(nodes_[1]->restart());
  ASSERT_TRUE(eventually([&] { return all_up(*nodes_[0]); }));
  TcpClient again;  // the client resends everything: the nacked lines and, once more, the acked ones
  ASSERT_TRUE(again.connect(nodes_[0]->tcp_port()));
  for (auto& l : lines)
    ASSERT_TRUE(again.send_line(l));
  ASSERT_TRUE(again.wait_ack(customers)) << again.transcript();
  EXPECT_TRUE(again.nacks().empty()) << again.transcript();
  for (int i = 0; i < customers; ++i) {
    auto id = "od" + std::to_string(i);
    auto owner = owner_of(*nodes_[0], id);
    for (size_t k = 0; k < 3; ++k)
      if (addr(ports_[k]) == owner)
        EXPECT_EQ(history_count(*nodes_[k], id, "Ordered"), 1) << id << " applied once at " << owner;
  }
}

TEST(ClusterConfig, AClusterConfigStartsAMemberThatWaitsForItsPeers) {
  auto ports = free_ports(2);
  Node node(member(ports[0], {ports[1]}));
  ASSERT_TRUE(node.start()) << node.logs();
  auto view = node.get("/api/cluster").json();
  EXPECT_EQ(at_path(view, "ready"), json::value(false)) << "a new member list takes events once every member answered";
  auto r = node.post("/v1/track", R"({"userId":"u1","event":"Early"})");
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(r.headers["retry-after"], "1");
}

TEST_F(ClusterLinks, WaymarkClusterPrintsTheMembersAndTheirState) {
  for (auto& n : nodes_)
    ASSERT_TRUE(eventually([&] { return all_up(*n); }));
  auto r = waymark("cluster --url http://127.0.0.1:" + std::to_string(nodes_[0]->http_port()));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("this " + addr(ports_[0])), std::string::npos) << r.out;
  for (auto p : ports_)
    EXPECT_NE(r.out.find(addr(p)), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("down"), std::string::npos) << r.out;
  nodes_[1]->kill9();
  EXPECT_TRUE(eventually([&] {
    return waymark("cluster --url http://127.0.0.1:" + std::to_string(nodes_[0]->http_port())).out.find("down") !=
           std::string::npos;
  }));
}

TEST(ClusterConfig, AClusterOffLoopbackRefusesToStartWithoutASecretAndTls) {
  NodeOptions o;  // (with both it may start: cluster_tls_test.cpp)
  o.config = json::object{{"cluster", json::object{{"listen", "0.0.0.0:0"}, {"peers", json::array{"10.9.9.9:7440"}}}}};
  Node node(o);
  EXPECT_FALSE(node.start());
  EXPECT_NE(node.logs().find("not on loopback"), std::string::npos) << node.logs();
}

TEST(ClusterConfig, ASingleNodeAnswersItsOwnViewWithEveryPartition) {
  NodeOptions o;
  o.config = json::object{{"cluster", json::object{{"partitions", 8}}}};
  Node node(o);
  ASSERT_TRUE(node.start());
  auto view = node.get("/api/cluster").json();
  auto members = array_at(view, "members");
  ASSERT_EQ(members.size(), 1u) << json::serialize(view);
  EXPECT_EQ(members[0].as_object().at("partitions").as_array().size(), 8u);
  EXPECT_TRUE(members[0].as_object().at("up").as_bool());
  EXPECT_EQ(at_path(view, "partitions"), json::value(8));
}

}  // namespace
}  // namespace waymark::it
