// Cluster links (PRODUCT.md §9, the first part of issue #13) between real
// `waymark` processes on loopback: members find each other and agree on one
// view, a node with a different member list is refused with both views named
// on both sides, and a killed member shows as down and comes back up after its
// restart. The links run under WAYMARK_CLUSTER_PREVIEW=1 (NOTES.md: events are
// not forwarded yet).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "support/cli.hpp"
#include "support/events.hpp"
#include "support/node.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

/// A port free at the time of asking (members must know each other's
/// addresses before they start, so the cluster port cannot be 0).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string addr(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

NodeOptions member(uint16_t self, const std::vector<uint16_t>& peers, int partitions = 32) {
  json::array list;
  for (auto p : peers)
    list.push_back(json::value(addr(p)));
  NodeOptions o;
  o.config = json::object{{"cluster", json::object{{"listen", addr(self)}, {"peers", list}, {"partitions", partitions}}}};
  return o;
}

/// address -> up, from GET /api/cluster.
std::map<std::string, bool> members_up(Node& node) {
  std::map<std::string, bool> out;
  auto r = node.get("/api/cluster");
  if (r.status != 200)
    return out;
  for (auto& m : array_at(r.json(), "members"))
    out[str_at(m, "address")] = m.as_object().at("up").as_bool();
  return out;
}

template <class F>
bool eventually(F fact, int timeout_ms = 15000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!fact()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

class ClusterLinks : public ::testing::Test {
protected:
  void SetUp() override {
    ::setenv("WAYMARK_CLUSTER_PREVIEW", "1", 1);
    ports_ = {free_port(), free_port(), free_port()};
    for (size_t i = 0; i < 3; ++i) {
      std::vector<uint16_t> peers;
      for (size_t j = 0; j < 3; ++j)
        if (j != i)
          peers.push_back(ports_[j]);
      nodes_.push_back(std::make_unique<Node>(member(ports_[i], peers)));
      ASSERT_TRUE(nodes_.back()->start());
    }
  }
  void TearDown() override { ::unsetenv("WAYMARK_CLUSTER_PREVIEW"); }

  bool all_up(Node& node, size_t members = 3) {
    auto up = members_up(node);
    if (up.size() != members)
      return false;
    for (auto& [a, u] : up)
      if (!u)
        return false;
    return true;
  }

  std::vector<uint16_t> ports_;
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
  auto stranger_port = free_port();
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

TEST(ClusterConfig, WithoutThePreviewSwitchAClusterConfigStillRefusesToStart) {
  ::unsetenv("WAYMARK_CLUSTER_PREVIEW");
  Node node(member(free_port(), {free_port()}));
  EXPECT_FALSE(node.start());
  EXPECT_NE(node.logs().find("clustering is not complete"), std::string::npos) << node.logs();
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
