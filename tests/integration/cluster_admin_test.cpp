// What a cluster answers and changes as one (PRODUCT.md §9), with three real
// `waymark` members on loopback: a deploy at any member reaches every member
// under one version (also one that was down, before it takes events), the
// manual clock moves every member and fires timers everywhere, admin reads
// (customers, stats, journey stats) answer for the whole cluster from any
// member, and an erasure at any member erases at the owner.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <set>
#include <sstream>

#include "support/cluster.hpp"
#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

class ClusterAdmin : public ::testing::Test {
protected:
  void SetUp() override {
    ports_ = free_ports(3);
    nodes_ = start_members(ports_);
    ASSERT_EQ(nodes_.size(), 3u);
    for (auto& n : nodes_)
      ASSERT_TRUE(eventually([&] { return all_up(*n); })) << n->logs();
    // The catalog leader numbers deploys: the member whose address sorts first.
    leader_ = 0;
    for (size_t i = 1; i < 3; ++i)
      if (addr(ports_[i]) < addr(ports_[leader_]))
        leader_ = i;
  }

  size_t follower(size_t nth = 0) const {
    for (size_t i = 0; i < 3; ++i)
      if (i != leader_ && nth-- == 0)
        return i;
    return 0;
  }
  Node& node(size_t i) { return *nodes_[i]; }

  /// Sends "Signed Up" for `n` customers through member `via`; all acked.
  ::testing::AssertionResult sign_up(size_t via, const std::string& prefix, int n) {
    TcpClient c;
    if (!c.connect(node(via).tcp_port()))
      return ::testing::AssertionFailure() << "connect";
    for (int i = 0; i < n; ++i)
      if (!c.send_line(track(prefix + std::to_string(i), "Signed Up", {}, prefix + "-m" + std::to_string(i))))
        return ::testing::AssertionFailure() << "send";
    if (!c.wait_ack(n) || !c.nacks().empty())
      return ::testing::AssertionFailure() << c.transcript();
    return ::testing::AssertionSuccess();
  }

  std::vector<uint16_t> ports_;
  std::vector<std::unique_ptr<Node>> nodes_;
  size_t leader_ = 0;
};

int64_t version_at(Node& n, const std::string& journey) {
  auto r = n.get("/api/journeys/" + journey);
  return r.status == 200 ? at_path(r.json(), "version").as_int64() : -1;
}

TEST_F(ClusterAdmin, ADeployAtAnyMemberReachesEveryMemberUnderOneVersion) {
  // At a follower: relayed to the leader, which numbers it and pushes it.
  ASSERT_EQ(node(follower()).deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node(follower()).deploy_template(fixtures::kReminderTemplate).status, 201);
  auto first = node(follower()).deploy_journey(fixtures::kOnboardingJourney);
  ASSERT_EQ(first.status, 201) << first.describe();
  EXPECT_EQ(at_path(first.json(), "version").as_int64(), 1);
  // The deploy answered after every member applied it: no waiting here.
  for (auto& n : nodes_)
    EXPECT_EQ(version_at(*n, "onboarding"), 1) << n->logs();
  std::string v2 = fixtures::kOnboardingJourney;
  v2.replace(v2.find("\"2d\""), 4, "\"3d\"");
  auto second = node(follower(1)).deploy_journey(v2);
  ASSERT_EQ(second.status, 201) << second.describe();
  EXPECT_EQ(at_path(second.json(), "version").as_int64(), 2);
  auto paused = node(follower()).post("/api/journeys/onboarding/pause", "");
  EXPECT_EQ(paused.status, 200) << paused.describe();
  for (auto& n : nodes_) {
    auto j = n->get("/api/journeys/onboarding").json();
    EXPECT_EQ(at_path(j, "version").as_int64(), 2);
    EXPECT_EQ(str_at(j, "status"), "paused");
    EXPECT_EQ(at_path(j, "definition.steps.wait2d.duration"), json::value("3d"));
    EXPECT_EQ(array_at(n->get("/api/templates").json(), "templates").size(), 2u);
  }
  // A bad deploy at a follower is refused by the leader with its paths, and changes nothing.
  auto bad = node(follower()).put("/api/journeys/onboarding", R"({"id":"onboarding","steps":{}})");
  EXPECT_EQ(bad.status, 422) << bad.describe();
  for (auto& n : nodes_)
    EXPECT_EQ(version_at(*n, "onboarding"), 2);
}

TEST_F(ClusterAdmin, AMemberDownDuringDeploysTakesThemBeforeItTakesEvents) {
  size_t late = follower();
  node(late).kill9();
  ASSERT_TRUE(eventually([&] { return !members_up(node(leader_))[addr(ports_[late])]; }));
  ASSERT_EQ(node(leader_).deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node(leader_).deploy_template(fixtures::kReminderTemplate).status, 201);
  ASSERT_EQ(node(leader_).deploy_journey(fixtures::kOnboardingJourney).status, 201);
  std::string v2 = fixtures::kOnboardingJourney;
  v2.replace(v2.find("\"2d\""), 4, "\"3d\"");
  ASSERT_EQ(node(leader_).deploy_journey(v2).status, 201);
  ASSERT_TRUE(node(late).restart());
  // Events sent to it at once, for customers it owns: each is either refused
  // with retry (its catalog not taken yet) or entered under version 2.
  std::vector<std::string> own;
  for (int i = 0; own.size() < 5 && i < 200; ++i)
    if (owner_of(node(leader_), "late" + std::to_string(i)) == addr(ports_[late]))
      own.push_back("late" + std::to_string(i));
  ASSERT_EQ(own.size(), 5u);
  std::set<std::string> entered;
  ASSERT_TRUE(eventually([&] {
    for (auto& id : own) {
      if (entered.count(id))
        continue;
      auto r = node(late).post("/v1/track", R"({"userId":")" + id + R"(","event":"Signed Up","messageId":")" + id +
                                              R"(-m"})");
      if (r.status == 200)
        entered.insert(id);
      else if (r.status != 503)
        ADD_FAILURE() << r.describe();
    }
    return entered.size() == own.size();
  }));
  EXPECT_EQ(version_at(node(late), "onboarding"), 2);
  for (auto& id : own) {
    auto c = node(late).customer(id).json();
    auto instances = array_at(c, "instances");
    ASSERT_EQ(instances.size(), 1u) << json::serialize(c);
    EXPECT_EQ(at_path(instances[0], "version").as_int64(), 2) << id;
  }
}

TEST_F(ClusterAdmin, TheClockMovesEveryMemberAndFiresTimersOnEveryMember) {
  ASSERT_EQ(node(0).deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node(0).deploy_template(fixtures::kReminderTemplate).status, 201);
  ASSERT_EQ(node(0).deploy_journey(fixtures::kOnboardingJourney).status, 201);
  const int customers = 30;
  ASSERT_TRUE(sign_up(0, "clk", customers));
  std::set<std::string> owners;
  for (int i = 0; i < customers; ++i)
    owners.insert(owner_of(node(0), "clk" + std::to_string(i)));
  ASSERT_EQ(owners.size(), 3u) << "the timers wait on every member";
  auto before = node(2).get("/api/stats").json();
  EXPECT_EQ(at_path(before, "timers_pending").as_int64(), customers) << "cluster total";
  // 3d, not 2d: each member's manual clock started when it did (they agree
  // once linked, moving to the latest), so a 2d wait may end seconds past 2d.
  auto moved = node(1).advance_clock("3d");
  ASSERT_EQ(moved.status, 200) << moved.describe();
  // The answer came after every member fired what was due: no polling.
  for (int i = 0; i < customers; ++i) {
    auto c = node(i % 3).customer("clk" + std::to_string(i)).json();
    std::set<std::string> fired;  // steps the 2d timer ran (the sends are suppressed: no address)
    for (auto& t : array_at(c, "trace"))
      if (str_at(t, "trigger").rfind("timer", 0) == 0)
        fired.insert(str_at(t, "step"));
    EXPECT_EQ(fired, (std::set<std::string>{"reminder", "done"})) << json::serialize(c);
  }
  auto after = node(2).get("/api/stats").json();
  EXPECT_EQ(at_path(after, "timers_pending").as_int64(), 0);
  EXPECT_EQ(at_path(after, "timers_fired").as_int64(), customers);
  for (auto& n : nodes_)
    EXPECT_EQ(str_at(n->get("/api/stats").json(), "now"), str_at(after, "now")) << "one clock";
}

TEST_F(ClusterAdmin, ReadsAnswerForTheWholeClusterFromAnyMember) {
  ASSERT_EQ(node(0).deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node(0).deploy_template(fixtures::kReminderTemplate).status, 201);
  ASSERT_EQ(node(0).deploy_journey(fixtures::kOnboardingJourney).status, 201);
  const int customers = 24;
  ASSERT_TRUE(sign_up(1, "rd", customers));
  for (auto& n : nodes_) {
    auto stats = n->get("/api/stats").json();
    EXPECT_EQ(at_path(stats, "customers_known").as_int64(), customers);
    EXPECT_EQ(at_path(stats, "events_acked").as_int64(), customers) << "each event counted once";
    EXPECT_EQ(stats.as_object().at("nodes").as_object().size(), 3u);
    auto journey = n->get("/api/journeys/onboarding").json();
    EXPECT_EQ(at_path(journey, "stats.entered").as_int64(), customers) << json::serialize(journey);
    auto list = array_at(n->get("/api/journeys").json(), "journeys");
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(at_path(list[0], "stats.entered").as_int64(), customers);
  }
  auto c = node(2).customer("rd5");
  ASSERT_EQ(c.status, 200) << c.describe();
  EXPECT_EQ(str_at(c.json(), "owner"), owner_of(node(0), "rd5"));
  EXPECT_EQ(node(0).customer("nobody").status, 404);
  // An erasure at a member that does not own the customer erases at the owner.
  std::string victim;
  size_t asker = 0;
  for (int i = 0; i < customers && victim.empty(); ++i)
    for (size_t k = 0; k < 3 && victim.empty(); ++k)
      if (owner_of(node(0), "rd" + std::to_string(i)) != addr(ports_[k])) {
        victim = "rd" + std::to_string(i);
        asker = k;
      }
  auto erased = node(asker).http("DELETE", "/api/customers/" + victim);
  EXPECT_EQ(erased.status, 200) << erased.describe();
  for (auto& n : nodes_)
    EXPECT_EQ(n->customer(victim).status, 404);
  EXPECT_EQ(at_path(node(asker).get("/api/stats").json(), "customers_known").as_int64(), customers - 1);
}

TEST_F(ClusterAdmin, JourneyResultsCountEveryMembersCustomersOnce) {
  ASSERT_EQ(node(0).deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node(0).deploy_template(fixtures::kReminderTemplate).status, 201);
  std::string journey = fixtures::kOnboardingJourney;
  journey.replace(journey.find("\"entry\""), 0,
                  R"("goal": {"event": "Upgraded"}, "holdout": {"percent": 50}, )");
  ASSERT_EQ(node(0).deploy_journey(journey).status, 201);
  const int customers = 40;
  ASSERT_TRUE(sign_up(2, "res", customers));
  TcpClient c;  // the first 10 upgrade: a goal reached at each one's owner
  ASSERT_TRUE(c.connect(node(1).tcp_port()));
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(c.send_line(track("res" + std::to_string(i), "Upgraded", {}, "res-up" + std::to_string(i))));
  ASSERT_TRUE(c.wait_ack(10)) << c.transcript();
  for (auto& n : nodes_) {
    auto r = n->get("/api/journeys/onboarding/results");
    ASSERT_EQ(r.status, 200) << r.describe();
    int64_t entered = -1, converted = -1, split = 0;
    for (auto& arm : array_at(r.json(), "arms")) {
      if (str_at(arm, "arm") == "all") {
        entered = at_path(arm, "entered").as_int64();
        converted = at_path(arm, "converted").as_int64();
      }
      if (str_at(arm, "arm") == "treated" || str_at(arm, "arm") == "holdout")
        split += at_path(arm, "entered").as_int64();
    }
    EXPECT_EQ(entered, customers) << r.body;
    EXPECT_EQ(converted, 10) << r.body;
    EXPECT_EQ(split, customers) << "treated + holdout = all: " << r.body;
  }
}

TEST_F(ClusterAdmin, AttributionAddsUpTheMembersConversions) {
  ASSERT_EQ(node(0).deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node(0).deploy_template(fixtures::kReminderTemplate).status, 201);
  ASSERT_EQ(node(0).deploy_journey(fixtures::kOnboardingJourney).status, 201);
  // 12 customers each get the welcome mail (one email touch); customers 0..5
  // order for 10 * (i + 1): 6 conversions worth 10+20+...+60 = 210, all credited
  // to email by `last` (one touch each).
  TcpClient c;
  ASSERT_TRUE(c.connect(node(2).tcp_port()));
  const int customers = 12;
  for (int i = 0; i < customers; ++i) {
    auto id = "at" + std::to_string(i);
    ASSERT_TRUE(c.send_line(identify(id, json::object{{"email", id + "@example.com"}}, id + "-id")));
    ASSERT_TRUE(c.send_line(track(id, "Signed Up", {}, id + "-su")));
  }
  ASSERT_TRUE(c.wait_ack(2 * customers)) << c.transcript();
  ASSERT_EQ(node(0).advance_clock("1h").status, 200);  // the orders come after the touches
  for (int i = 0; i < 6; ++i)
    ASSERT_TRUE(c.send_line(track("at" + std::to_string(i), "Order Completed",
                                  json::object{{"revenue", 10 * (i + 1)}}, "at-o" + std::to_string(i))));
  ASSERT_TRUE(c.wait_ack(2 * customers + 6)) << c.transcript();
  ASSERT_TRUE(c.nacks().empty()) << c.transcript();
  std::set<std::string> owners;
  for (int i = 0; i < 6; ++i)
    owners.insert(owner_of(node(0), "at" + std::to_string(i)));
  ASSERT_GE(owners.size(), 2u) << "the conversions are spread over members";
  const std::string range = "&by=channel&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
  // Every member merges the others' partial sums: Markov too (one channel:
  // its removal effect takes every conversion).
  for (auto& n : nodes_)
    for (const char* model : {"last", "markov"}) {
      auto r = n->get(std::string("/api/attribution?model=") + model + range);
      ASSERT_EQ(r.status, 200) << r.describe();
      auto v = r.json();
      EXPECT_EQ(at_path(v, "conversions").as_int64(), 6) << r.body;
      EXPECT_EQ(at_path(v, "unattributed").as_int64(), 0) << r.body;
      auto groups = array_at(v, "groups");
      ASSERT_EQ(groups.size(), 1u) << r.body;
      EXPECT_EQ(str_at(groups[0], "group"), "email");
      EXPECT_NEAR(at_path(groups[0], "conversions").to_number<double>(), 6.0, 1e-9) << model;
      EXPECT_NEAR(at_path(groups[0], "value").to_number<double>(), 210.0, 1e-9) << model;
    }
  // The export of any member has every member's conversions (6 lines).
  auto exported = node(1).get("/api/export/conversions?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z");
  ASSERT_EQ(exported.status, 200) << exported.describe();
  std::set<std::string> exported_customers;
  std::istringstream lines(exported.body);
  for (std::string line; std::getline(lines, line);)
    exported_customers.insert(str_at(json::parse(line), "customer"));
  EXPECT_EQ(exported_customers, (std::set<std::string>{"at0", "at1", "at2", "at3", "at4", "at5"})) << exported.body;
}

TEST_F(ClusterAdmin, WithTheLeaderDownDeploysAreRefusedWithRetryAndReadsOfItsCustomersToo) {
  node(leader_).kill9();
  size_t f = follower();
  ASSERT_TRUE(eventually([&] { return !members_up(node(f))[addr(ports_[leader_])]; }));
  auto r = node(f).deploy_template(fixtures::kWelcomeTemplate);
  EXPECT_EQ(r.status, 503) << r.describe();
  EXPECT_EQ(r.headers["retry-after"], "1");
  EXPECT_EQ(array_at(node(f).get("/api/templates").json(), "templates").size(), 0u);
  std::string theirs;
  for (int i = 0; theirs.empty(); ++i)
    if (owner_of(node(f), "ld" + std::to_string(i)) == addr(ports_[leader_]))
      theirs = "ld" + std::to_string(i);
  EXPECT_EQ(node(f).customer(theirs).status, 503);
  auto stats = node(f).get("/api/stats");
  ASSERT_EQ(stats.status, 200);
  auto down = stats.json().as_object().at("nodes").as_object().at(addr(ports_[leader_]));
  EXPECT_EQ(down.as_object().at("up"), json::value(false)) << stats.describe();
}

}  // namespace
}  // namespace waymark::it
