// The LMDB store (include/waymark/store.hpp) on a real environment in a
// temporary directory: a batch lands atomically, survives a reopen, the
// outbox scans in commit order per channel, timers come out by due time,
// and erasure removes a customer everywhere.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "waymark/store.hpp"

namespace waymark {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/waymark-store-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

Delivery delivery(const std::string& id, const std::string& customer, const std::string& channel) {
  Delivery d;
  d.id = id;
  d.channel = channel;
  d.customer = customer;
  d.journey = "j";
  d.version = 1;
  d.step = "s";
  d.template_id = "t";
  d.to = customer + "@example.com";
  d.content = boost::json::object{{"body", "hi"}};
  d.at = 1000;
  return d;
}

CustomerWrite write_for(const std::string& id, Millis due) {
  CustomerWrite w;
  w.customer = id;
  w.state_json = R"({"id":")" + id + R"("})";
  w.timers_set.push_back(TimerKey{due, id, "t-" + id});
  w.deliveries.push_back(delivery("d-" + id, id, "email"));
  w.dedup_ids = {{"m-" + id, 500}};
  return w;
}

TEST(Store, ACommittedBatchIsVisibleTogetherAndSurvivesAReopen) {
  TempDir dir;
  {
    auto store = Store::open(dir.path, 64);
    ASSERT_TRUE(store) << store.error().message;
    Batch b;
    b.customers.push_back(write_for("u1", 3000));
    b.customers.push_back(write_for("u2", 2000));
    auto res = (*store)->commit(b);
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->outbox_added.at("email"), 2u);
    EXPECT_EQ(res->min_timer_due, 2000);
  }
  auto store = Store::open(dir.path, 64);
  ASSERT_TRUE(store);
  auto& s = **store;
  EXPECT_EQ(s.get_customer("u1"), std::optional<std::string>(R"({"id":"u1"})"));
  EXPECT_EQ(s.dedup_at("u2", "m-u2"), std::optional<Millis>(500));
  EXPECT_EQ(s.timer_count(), 2u);
  auto due = s.due_timers(10000, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].customer, "u2") << "timers come out by due time";
  EXPECT_EQ(due[1].customer, "u1");
  EXPECT_EQ(s.next_timer_due(), std::optional<Millis>(2000));
  auto out = s.outbox_scan("email", 0, 10);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_LT(out[0].seq, out[1].seq);
  EXPECT_NE(out[0].record.find("d-u1"), std::string::npos) << "outbox in commit order";
  EXPECT_TRUE(s.outbox_scan("sms", 0, 10).empty());
}

TEST(Store, LoadingACustomerTellsWhetherAnyDedupKeyIsStoredUnderItsId) {
  TempDir dir;
  auto store = Store::open(dir.path, 64);
  ASSERT_TRUE(store) << store.error().message;
  auto fresh = (*store)->load_customer("c1");
  EXPECT_FALSE(fresh.state);
  EXPECT_FALSE(fresh.dedup_keys);
  Batch b;
  CustomerWrite w;
  w.customer = "c1";
  w.dedup_ids = {{"m-1", 1000}};  // a write that changed no state still keeps its messageId
  b.customers.push_back(w);
  CustomerWrite w2;
  w2.customer = "c10";
  w2.state_json = R"({"id":"c10"})";
  b.customers.push_back(w2);
  ASSERT_TRUE((*store)->commit(b));
  auto c1 = (*store)->load_customer("c1");
  EXPECT_FALSE(c1.state);
  EXPECT_TRUE(c1.dedup_keys);
  // Ids that share a prefix with c1 are not confused with it.
  for (const char* other : {"c", "c0", "c10", "c1x"})
    EXPECT_FALSE((*store)->load_customer(other).dedup_keys) << other;
  EXPECT_EQ((*store)->load_customer("c10").state.value_or(""), R"({"id":"c10"})");
}

TEST(Store, OutboxSequencesKeepGrowingAcrossReopens) {
  TempDir dir;
  uint64_t first = 0;
  {
    auto store = Store::open(dir.path, 64);
    Batch b;
    b.customers.push_back(write_for("a", 1));
    ASSERT_TRUE((*store)->commit(b));
    first = (*store)->outbox_scan("email", 0, 1).at(0).seq;
    Batch done;
    DeliveryUpdate u;
    u.channel = "email";
    u.seq = first;
    u.id = "d-a";
    u.status = "delivered";
    u.attempts = 1;
    done.deliveries.push_back(u);
    ASSERT_TRUE((*store)->commit(done));
    EXPECT_EQ((*store)->outbox_depth("email"), 0u);
  }
  auto store = Store::open(dir.path, 64);
  Batch b;
  b.customers.push_back(write_for("b", 1));
  ASSERT_TRUE((*store)->commit(b));
  auto out = (*store)->outbox_scan("email", 0, 5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_GT(out[0].seq, first) << "a sequence number was reused after a reopen";
}

TEST(Store, ErasingACustomerRemovesEveryRecordAndLeavesOthers) {
  TempDir dir;
  auto store = Store::open(dir.path, 64);
  auto& s = **store;
  Batch b;
  auto w = write_for("u1", 100);
  w.aliases_from.push_back("anon-1");
  b.customers.push_back(w);
  b.customers.push_back(write_for("u2", 200));
  ASSERT_TRUE(s.commit(b));
  ASSERT_EQ(s.resolve_alias("anon-1"), std::optional<std::string>("u1"));
  auto n = s.erase_customer("u1");
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_GE(*n, 5u);
  EXPECT_FALSE(s.get_customer("u1"));
  EXPECT_FALSE(s.resolve_alias("anon-1"));
  EXPECT_FALSE(s.dedup_at("u1", "m-u1"));
  EXPECT_FALSE(s.delivery_status("d-u1"));
  EXPECT_EQ(s.timer_count(), 1u);
  EXPECT_EQ(s.outbox_depth("email"), 1u);
  EXPECT_TRUE(s.get_customer("u2")) << "another customer was erased";
  ASSERT_TRUE(s.scrub());
  EXPECT_TRUE(s.get_customer("u2")) << "the compacted environment lost data";
  EXPECT_EQ(s.outbox_depth("email"), 1u);
}

}  // namespace
}  // namespace waymark
