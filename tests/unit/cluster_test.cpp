// Partition ownership and the membership view (include/waymark/cluster.hpp):
// rendezvous hashing's balance and minimal movement, checked against the
// binomial spread a fair hash must stay within, and the view's hash.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "waymark/cluster.hpp"

namespace waymark::cluster {
namespace {

const std::vector<std::string> kThree{"10.0.0.1:7440", "10.0.0.2:7440", "10.0.0.3:7440"};

Membership view(std::vector<std::string> members, uint32_t partitions = 4096) {
  auto m = Membership::make(std::move(members), partitions);
  EXPECT_TRUE(m) << m.error().message;
  return *m;
}

/// Bound for a count of hits among n trials of probability p: 5 standard deviations.
double five_sd(double n, double p) { return 5 * std::sqrt(n * p * (1 - p)); }

TEST(ClusterPartition, TheCustomerHashIsPinnedBecauseChangingItWouldRehomeEveryCustomer) {
  // XXH64(key, seed 0) mod N: the values below were taken once from this
  // formula and pinned; single nodes and every cluster member must agree.
  EXPECT_EQ(partition_of("u1", 256), 63u);
  EXPECT_EQ(partition_of("ada@example.com", 256), 205u);
  EXPECT_EQ(partition_of("anon-7", 256), 57u);
  EXPECT_EQ(partition_of("", 1), 0u);
  EXPECT_EQ(partition_of("anything", 0), 0u) << "0 partitions is treated as 1";
  std::map<uint32_t, int> hits;
  for (int i = 0; i < 25600; ++i) ++hits[partition_of("customer-" + std::to_string(i), 256)];
  EXPECT_EQ(hits.size(), 256u);
  for (auto& [p, n] : hits) EXPECT_NEAR(n, 100, five_sd(25600, 1.0 / 256)) << "partition " << p;
}

TEST(ClusterMembership, EveryMemberOwnsAFairShareOfThePartitions) {
  auto m = view(kThree);
  size_t total = 0;
  for (auto& member : m.members()) {
    auto owned = m.partitions_of(member);
    EXPECT_NEAR(static_cast<double>(owned.size()), 4096.0 / 3, five_sd(4096, 1.0 / 3)) << member;
    for (auto p : owned) EXPECT_EQ(m.owner_of(p), member);
    total += owned.size();
  }
  EXPECT_EQ(total, 4096u);
  EXPECT_TRUE(m.partitions_of("10.0.0.9:7440").empty());
}

TEST(ClusterMembership, ANewMemberTakesAboutAQuarterAndNothingMovesBetweenTheOldOnes) {
  auto before = view(kThree);
  auto grown = kThree;
  grown.push_back("10.0.0.4:7440");
  auto after = view(grown);
  auto mv = moves(before, after);
  ASSERT_TRUE(mv);
  for (auto& m : *mv) EXPECT_EQ(m.to, "10.0.0.4:7440") << "partition " << m.partition << " moved from " << m.from;
  EXPECT_NEAR(static_cast<double>(mv->size()), 1024, five_sd(4096, 0.25));
  EXPECT_EQ(after.partitions_of("10.0.0.4:7440").size(), mv->size());
}

TEST(ClusterMembership, ALeavingMemberHandsOnlyItsOwnPartitions) {
  auto before = view(kThree);
  auto after = view({"10.0.0.1:7440", "10.0.0.3:7440"});
  auto mv = moves(before, after);
  ASSERT_TRUE(mv);
  EXPECT_EQ(mv->size(), before.partitions_of("10.0.0.2:7440").size());
  for (auto& m : *mv) EXPECT_EQ(m.from, "10.0.0.2:7440");
}

TEST(ClusterMembership, TheViewIsTheSameWhateverOrderTheMembersAreListedIn) {
  auto a = view(kThree);
  auto b = view({kThree[2], kThree[0], kThree[1]});
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.members(), b.members());
  for (uint32_t p = 0; p < 4096; ++p) ASSERT_EQ(a.owner_of(p), b.owner_of(p)) << p;
  EXPECT_EQ(a.hash().size(), 16u);
  EXPECT_EQ(a.describe(), "4096 partitions over 10.0.0.1:7440, 10.0.0.2:7440, 10.0.0.3:7440");
}

TEST(ClusterMembership, AnyDifferenceInTheViewChangesItsHash) {
  auto base = view(kThree, 256);
  EXPECT_NE(base.hash(), view(kThree, 257).hash());
  EXPECT_NE(base.hash(), view({kThree[0], kThree[1], "10.0.0.3:7441"}, 256).hash());
  EXPECT_NE(base.hash(), view({kThree[0], kThree[1]}, 256).hash());
  EXPECT_NE(view({"a:1", "b:2"}, 1).hash(), view({"a:1b:2"}, 1).hash()) << "members are separated in the hashed text";
}

TEST(ClusterMembership, ABadViewIsRefusedWithAReason) {
  auto code = [](std::vector<std::string> m, uint32_t p) {
    auto r = Membership::make(std::move(m), p);
    return r ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code({}, 8), "no_members");
  EXPECT_EQ(code({"a:1", "a:1"}, 8), "duplicate_member");
  EXPECT_EQ(code({"a"}, 8), "bad_member");
  EXPECT_EQ(code({"a:"}, 8), "bad_member");
  EXPECT_EQ(code({":1"}, 8), "bad_member");
  EXPECT_EQ(code({"a:1x"}, 8), "bad_member");
  EXPECT_EQ(code({"a:1"}, 0), "bad_partitions");
  EXPECT_EQ(code({"a:1"}, 65537), "bad_partitions");
  EXPECT_EQ(code({"[::1]:7440"}, 65536), "ok");
  auto mv = moves(view(kThree, 8), view(kThree, 16));
  ASSERT_FALSE(mv);
  EXPECT_EQ(mv.error().code, "partitions_changed");
}

TEST(ClusterMembership, OneMemberOwnsEverything) {
  auto m = view({"127.0.0.1:7440"}, 16);
  EXPECT_EQ(m.partitions_of("127.0.0.1:7440").size(), 16u);
  EXPECT_TRUE(m.contains("127.0.0.1:7440"));
  EXPECT_FALSE(m.contains("127.0.0.1:7441"));
}

}  // namespace
}  // namespace waymark::cluster

// ---- merging members' answers (include/waymark/cluster_merge.hpp) ----------------

#include "waymark/cluster_merge.hpp"

namespace waymark::cluster {
namespace {

TEST(ClusterMerge, NumbersAreSummedObjectsMergedAndOtherValuesKeptFromTheFirst) {
  auto total = boost::json::parse(R"({"now":"A","events":3,"ratio":0.5,"outbox":{"email":2},"list":[1]})").as_object();
  auto part = boost::json::parse(R"({"now":"B","events":4,"ratio":0.25,"outbox":{"email":5,"sms":1},"extra":7,"list":[2]})")
                .as_object();
  add_numbers(total, part);
  EXPECT_EQ(total.at("now"), boost::json::value("A"));
  EXPECT_EQ(total.at("events"), boost::json::value(7));
  EXPECT_TRUE(total.at("events").is_int64()) << "integers stay integers";
  EXPECT_DOUBLE_EQ(total.at("ratio").as_double(), 0.75);
  EXPECT_EQ(total.at("outbox").at("email"), boost::json::value(7));
  EXPECT_EQ(total.at("outbox").at("sms"), boost::json::value(1));
  EXPECT_EQ(total.at("extra"), boost::json::value(7));
  EXPECT_EQ(total.at("list"), boost::json::parse("[1]"));
}

TEST(ClusterMerge, JourneyCountersRoundTripThroughJsonAndSum) {
  std::map<std::string, int64_t> a{{std::string("1\0welcome\0visited", 17), 3}, {"entered", 2}};
  std::map<std::string, int64_t> b{{std::string("1\0welcome\0visited", 17), 4}};
  std::map<std::string, int64_t> total;
  ASSERT_TRUE(add_counters(total, boost::json::parse(boost::json::serialize(counters_json(a)))));
  ASSERT_TRUE(add_counters(total, counters_json(b)));
  EXPECT_EQ(total[std::string("1\0welcome\0visited", 17)], 7) << "a key with NUL bytes survives JSON";
  EXPECT_EQ(total["entered"], 2);
  EXPECT_FALSE(add_counters(total, boost::json::parse(R"({"x":"seven"})")));
  EXPECT_FALSE(add_counters(total, boost::json::parse("[]")));
  EXPECT_EQ(total.count("x"), 0u) << "a bad part adds nothing";
}

}  // namespace
}  // namespace waymark::cluster
