// A cluster grows (PRODUCT.md §9, "Growing or shrinking"): three real
// `waymark` members hold customers with pending timers and sent mail; they are
// restarted with a fourth member in their list and the fourth starts. The
// partitions rendezvous hashing moves to the newcomer are handed over (state,
// aliases, timers, dedup keys, delivery records): afterwards every customer
// is in exactly one place, its owner; its timer fires once, from there; no
// mail is sent twice; a resent event is still a repeat. Also with a kill -9
// of a sender or of the newcomer while the hand-off runs.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <memory>
#include <set>

#include "support/cluster.hpp"
#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/outbox.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

constexpr int kCustomers = 60;

std::string cid(int i) { return "grow" + std::to_string(i); }

class ClusterGrowth : public ::testing::Test {
protected:
  void SetUp() override {
    ports_ = free_ports(4);
    for (size_t i = 0; i < 3; ++i) {
      nodes_.push_back(std::make_unique<Node>(member(ports_[i], others(i, 3))));
      ASSERT_TRUE(nodes_.back()->start());
    }
    for (auto& n : nodes_)
      ASSERT_TRUE(eventually([&] { return all_up(*n); })) << n->logs();
    ASSERT_EQ(nodes_[0]->deploy_template(fixtures::kWelcomeTemplate).status, 201);
    ASSERT_EQ(nodes_[0]->deploy_template(fixtures::kReminderTemplate).status, 201);
    ASSERT_EQ(nodes_[0]->deploy_journey(fixtures::kOnboardingJourney).status, 201);
    TcpClient c;
    ASSERT_TRUE(c.connect(nodes_[0]->tcp_port()));
    for (int i = 0; i < kCustomers; ++i) {
      ASSERT_TRUE(c.send_line(identify(cid(i), json::object{{"email", cid(i) + "@example.com"}}, cid(i) + "-id")));
      ASSERT_TRUE(c.send_line(track(cid(i), "Signed Up", {}, cid(i) + "-su")));
    }
    ASSERT_TRUE(c.wait_ack(2 * kCustomers)) << c.transcript();
    ASSERT_TRUE(c.nacks().empty()) << c.transcript();
    for (auto& n : nodes_)
      ASSERT_TRUE(n->wait_outbox_drained());  // every welcome mail written before the change
  }

  std::vector<uint16_t> others(size_t i, size_t members) const {
    std::vector<uint16_t> out;
    for (size_t j = 0; j < members; ++j)
      if (j != i)
        out.push_back(ports_[j]);
    return out;
  }

  /// Stops the three, lists four members everywhere, starts all four.
  void grow(bool kill9) {
    for (size_t i = 0; i < 3; ++i) {
      if (kill9)
        nodes_[i]->kill9();
      else
        nodes_[i]->terminate();
      nodes_[i]->options() = member(ports_[i], others(i, 4));
    }
    nodes_.push_back(std::make_unique<Node>(member(ports_[3], others(3, 4))));
    for (auto& n : nodes_)
      ASSERT_TRUE(n->start());
  }

  ::testing::AssertionResult all_ready() {
    for (auto& n : nodes_)
      if (!eventually([&] { return all_up(*n, 4); }, 30000))
        return ::testing::AssertionFailure() << n->get("/api/cluster").describe() << n->logs();
    return ::testing::AssertionSuccess();
  }

  /// Every customer in exactly one place (its owner), whole, with one timer.
  void expect_each_customer_once() {
    std::map<std::string, int> owned;
    for (int i = 0; i < kCustomers; ++i)
      ++owned[owner_of(*nodes_[0], cid(i))];
    ASSERT_GT(owned[addr(ports_[3])], 0) << "the newcomer owns some of 60 customers";
    auto stats = nodes_[1]->get("/api/stats").json();
    EXPECT_EQ(at_path(stats, "customers_known").as_int64(), kCustomers) << json::serialize(stats);
    EXPECT_EQ(at_path(stats, "timers_pending").as_int64(), kCustomers);
    EXPECT_EQ(at_path(stats, "touches").as_int64(), kCustomers) << "one welcome each, none doubled";
    for (auto p : ports_) {
      auto& node_stats = stats.as_object().at("nodes").as_object().at(addr(p));
      EXPECT_EQ(at_path(node_stats, "customers_known").as_int64(), owned[addr(p)]) << addr(p);
      EXPECT_EQ(at_path(node_stats, "timers_pending").as_int64(), owned[addr(p)]) << addr(p);
      EXPECT_EQ(at_path(node_stats, "touches").as_int64(), owned[addr(p)]) << addr(p) << ": touches move with their customers";
    }
    for (int i = 0; i < kCustomers; ++i) {
      auto c = nodes_[i % 4]->customer(cid(i));
      ASSERT_EQ(c.status, 200) << c.describe();
      auto v = c.json();
      EXPECT_EQ(str_at(v, "owner"), owner_of(*nodes_[0], cid(i)));
      EXPECT_EQ(at_path(v, "profile.traits.email"), json::value(cid(i) + "@example.com"));
      EXPECT_EQ(array_at(v, "instances").size(), 1u) << json::serialize(v);
    }
  }

  /// After the wait, each customer got its reminder once, from its owner; no
  /// mail id was written twice anywhere.
  void expect_reminders_once() {
    auto moved = nodes_[2]->advance_clock("3d");
    ASSERT_EQ(moved.status, 200) << moved.describe();
    for (auto& n : nodes_)
      ASSERT_TRUE(n->wait_outbox_drained());
    std::map<std::string, int> ids;
    std::map<std::string, int> reminders;  // customer -> reminder mails
    for (auto& n : nodes_) {
      auto out = read_outbox(n->data_dir(), "email");
      for (auto& [id, count] : out.id_counts())
        ids[id] += count;
      for (auto& r : out.where("step", "reminder"))
        ++reminders[field(r, "customer")];
    }
    for (auto& [id, count] : ids)
      EXPECT_EQ(count, 1) << "delivery " << id << " written " << count << " times";
    EXPECT_EQ(ids.size(), 2u * kCustomers) << "a welcome and a reminder each";
    for (int i = 0; i < kCustomers; ++i)
      EXPECT_EQ(reminders[cid(i)], 1) << cid(i);
  }

  /// A repeat of an event sent before the change is still a repeat (dedup keys moved).
  void expect_repeats_dropped() {
    TcpClient c;
    ASSERT_TRUE(c.connect(nodes_[3]->tcp_port()));
    for (int i = 0; i < kCustomers; ++i)
      ASSERT_TRUE(c.send_line(track(cid(i), "Signed Up", {}, cid(i) + "-su")));
    ASSERT_TRUE(c.wait_ack(kCustomers)) << c.transcript();
    EXPECT_TRUE(c.nacks().empty()) << c.transcript();
    for (int i = 0; i < kCustomers; ++i) {
      int signed_up = 0;
      for (auto& h : array_at(nodes_[0]->customer(cid(i)).json(), "history"))
        signed_up += str_at(h, "name") == "Signed Up";
      EXPECT_EQ(signed_up, 1) << cid(i);
    }
  }

  std::vector<uint16_t> ports_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(ClusterGrowth, AFourthMemberTakesItsPartitionsWithNothingLostOrDoubled) {
  grow(false);
  ASSERT_TRUE(all_ready());
  expect_each_customer_once();
  expect_repeats_dropped();
  expect_reminders_once();
  auto metrics = nodes_[0]->get("/metrics").body + nodes_[1]->get("/metrics").body + nodes_[2]->get("/metrics").body;
  EXPECT_NE(metrics.find("waymark_cluster_handoffs_total"), std::string::npos);
}

TEST_F(ClusterGrowth, AKill9OfASenderOrOfTheNewcomerDuringTheHandOffLosesAndDoublesNothing) {
  grow(true);
  // Each old member sends to the newcomer as soon as they link: kill one
  // sender and the newcomer at once, whatever point the hand-off reached.
  nodes_[1]->kill9();
  nodes_[3]->kill9();
  ASSERT_TRUE(nodes_[3]->restart());
  ASSERT_TRUE(nodes_[1]->restart());
  ASSERT_TRUE(all_ready());
  expect_each_customer_once();
  expect_reminders_once();
}

}  // namespace
}  // namespace waymark::it
