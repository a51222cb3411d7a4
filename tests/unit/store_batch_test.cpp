// The LMDB store beyond store_test.cpp: a failing batch leaves nothing behind
// (customer, timers, outbox, dedup and aliases are one transaction), timers
// page in due order, the outbox pages per channel, delivery status follows
// its updates, and everything reads back after a reopen.
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
    char tmpl[] = "/tmp/waymark-batch-XXXXXX";
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

/// A write touching every table a customer's commit touches.
CustomerWrite full_write(const std::string& id, Millis due) {
  CustomerWrite w;
  w.customer = id;
  w.state_json = R"({"id":")" + id + R"("})";
  w.aliases_from.push_back("anon-" + id);
  w.timers_set.push_back(TimerKey{due, id, "t1"});
  w.deliveries.push_back(delivery("d-" + id, id, "email"));
  w.dedup_ids = {{"m-" + id, 500}};
  w.stats.push_back(StatDelta{"j", 1, "s", "sent", 1});
  return w;
}

std::unique_ptr<Store> open_store(const std::string& dir, size_t map_mb = 64) {
  auto s = Store::open(dir, map_mb);
  EXPECT_TRUE(s) << s.error().message;
  return s ? std::move(*s) : nullptr;
}

void expect_nothing_of(const Store& s, const std::string& id) {
  EXPECT_FALSE(s.get_customer(id)) << id;
  EXPECT_FALSE(s.resolve_alias("anon-" + id)) << id;
  EXPECT_FALSE(s.dedup_at(id, "m-" + id)) << id;
  EXPECT_FALSE(s.delivery_status("d-" + id)) << id;
}

TEST(StoreBatch, AWriteThatFailsTakesTheWholeBatchWithIt) {
  TempDir dir;
  auto s = open_store(dir.path);
  ASSERT_TRUE(s);
  Batch b;
  b.customers.push_back(full_write("u1", 2000));
  auto bad = full_write("u2", 3000);
  bad.customer = std::string(600, 'x');  // longer than an LMDB key may be
  b.customers.push_back(bad);
  auto res = s->commit(b);
  ASSERT_FALSE(res) << "an oversized key was accepted";
  expect_nothing_of(*s, "u1");
  EXPECT_EQ(s->timer_count(), 0u);
  EXPECT_EQ(s->outbox_depth("email"), 0u);
  EXPECT_TRUE(s->journey_stats("j").empty());

  // The store is still usable and the failed batch used up no outbox sequence.
  Batch good;
  good.customers.push_back(full_write("u3", 4000));
  ASSERT_TRUE(s->commit(good));
  auto out = s->outbox_scan("email", 0, 10);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].seq, 1u);
}

TEST(StoreBatch, ABatchLargerThanTheMapFailsWholeAndLeavesTheStoreWorking) {
  TempDir dir;
  auto s = open_store(dir.path, 1);
  ASSERT_TRUE(s);
  Batch big;
  big.customers.push_back(full_write("u1", 2000));
  auto huge = full_write("u2", 3000);
  huge.state_json = R"({"pad":")" + std::string(4 << 20, 'x') + R"("})";
  big.customers.push_back(huge);
  ASSERT_FALSE(s->commit(big));
  expect_nothing_of(*s, "u1");
  expect_nothing_of(*s, "u2");
  EXPECT_EQ(s->timer_count(), 0u);
  Batch small;
  small.customers.push_back(full_write("u1", 2000));
  ASSERT_TRUE(s->commit(small));
  EXPECT_TRUE(s->get_customer("u1"));
}

TEST(StoreBatch, EveryPartOfACommittedWriteIsThereAfterAReopen) {
  TempDir dir;
  {
    auto s = open_store(dir.path);
    Batch b;
    b.customers.push_back(full_write("u1", 2000));
    auto res = s->commit(b);
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->customers_written, 1u);
  }
  auto s = open_store(dir.path);
  EXPECT_EQ(s->get_customer("u1"), std::optional<std::string>(R"({"id":"u1"})"));
  EXPECT_EQ(s->resolve_alias("anon-u1"), std::optional<std::string>("u1"));
  EXPECT_EQ(s->dedup_at("u1", "m-u1"), std::optional<Millis>(500));
  EXPECT_EQ(s->due_timers(2000, 10), (std::vector<TimerKey>{TimerKey{2000, "u1", "t1"}}));
  EXPECT_EQ(s->outbox_depth("email"), 1u);
  ASSERT_TRUE(s->delivery_status("d-u1"));
  EXPECT_NE(s->delivery_status("d-u1")->find("\"pending\""), std::string::npos);
  EXPECT_EQ(s->journey_stats("j").size(), 1u);
  EXPECT_EQ(s->customer_count(), 1u);
}

TEST(StoreBatch, AMergeErasesTheOldRecordAndPointsItsIdAtTheNewOne) {
  TempDir dir;
  auto s = open_store(dir.path);
  Batch first;
  CustomerWrite anon;
  anon.customer = "anon-7";
  anon.state_json = R"({"id":"anon-7"})";
  first.customers.push_back(anon);
  ASSERT_TRUE(s->commit(first));
  Batch merge;
  CustomerWrite w;
  w.customer = "u1";
  w.state_json = R"({"id":"u1"})";
  w.erase_customers.push_back("anon-7");
  w.aliases_from.push_back("anon-7");
  merge.customers.push_back(w);
  ASSERT_TRUE(s->commit(merge));
  EXPECT_FALSE(s->get_customer("anon-7"));
  EXPECT_EQ(s->resolve_alias("anon-7"), std::optional<std::string>("u1"));
  EXPECT_EQ(s->customer_count(), 1u);
}

TEST(StoreBatch, TimersComeOutByDueTimeThenCustomerThenIdAndPageWithAfter) {
  TempDir dir;
  auto s = open_store(dir.path);
  Batch b;
  CustomerWrite a;
  a.customer = "b";
  a.timers_set = {TimerKey{300, "b", "t2"}, TimerKey{100, "b", "t1"}, TimerKey{1LL << 40, "b", "t9"}};
  CustomerWrite c;
  c.customer = "a";
  c.timers_set = {TimerKey{300, "a", "t7"}, TimerKey{256, "a", "t3"}};
  b.customers = {a, c};
  auto res = s->commit(b);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->min_timer_due, 100);
  EXPECT_EQ(s->next_timer_due(), std::optional<Millis>(100));
  const std::vector<TimerKey> due = s->due_timers(300, 10);
  EXPECT_EQ(due, (std::vector<TimerKey>{{100, "b", "t1"}, {256, "a", "t3"}, {300, "a", "t7"}, {300, "b", "t2"}}));
  EXPECT_EQ(s->due_timers(299, 10).size(), 2u) << "a timer not yet due stays";
  auto page1 = s->due_timers(1LL << 41, 2);
  ASSERT_EQ(page1.size(), 2u);
  auto page2 = s->due_timers(1LL << 41, 2, &page1.back());
  EXPECT_EQ(page2, (std::vector<TimerKey>{{300, "a", "t7"}, {300, "b", "t2"}}));
  auto page3 = s->due_timers(1LL << 41, 2, &page2.back());
  EXPECT_EQ(page3, (std::vector<TimerKey>{{1LL << 40, "b", "t9"}}));
}

TEST(StoreBatch, ClearedTimersAreGone) {
  TempDir dir;
  auto s = open_store(dir.path);
  Batch set;
  CustomerWrite w;
  w.customer = "u1";
  w.timers_set = {TimerKey{100, "u1", "t1"}, TimerKey{200, "u1", "t2"}};
  set.customers.push_back(w);
  ASSERT_TRUE(s->commit(set));
  Batch clear;
  CustomerWrite c;
  c.customer = "u1";
  c.timers_cleared = {TimerKey{100, "u1", "t1"}, TimerKey{999, "u1", "never-set"}};
  clear.customers.push_back(c);
  auto res = s->commit(clear);
  ASSERT_TRUE(res) << "clearing an unknown timer is not an error";
  EXPECT_EQ(s->timer_count(), 1u);
  EXPECT_EQ(s->next_timer_due(), std::optional<Millis>(200));
}

TEST(StoreBatch, ATimerSetAndClearedByOneWriteIsGone) {
  TempDir dir;
  auto s = open_store(dir.path);
  Batch b;
  CustomerWrite w;
  w.customer = "u1";
  w.timers_set = {TimerKey{100, "u1", "t1"}, TimerKey{200, "u1", "t2"}};
  w.timers_cleared = {TimerKey{100, "u1", "t1"}};  // e.g. an instance that left at once
  b.customers.push_back(w);
  ASSERT_TRUE(s->commit(b));
  EXPECT_EQ(s->timer_count(), 1u);
  EXPECT_EQ(s->next_timer_due(), std::optional<Millis>(200));
}

TEST(StoreBatch, ACustomerWrittenTwiceInABatchKeepsItsLastStateAndEverythingElse) {
  TempDir dir;
  auto s = open_store(dir.path);
  Batch b;
  CustomerWrite first = full_write("u1", 2000);
  first.state_json = R"({"id":"u1","n":1})";
  CustomerWrite second;
  second.customer = "u1";
  second.state_json = R"({"id":"u1","n":2})";
  second.dedup_ids = {{"m-u1-2", 600}};
  CustomerWrite other;
  other.customer = "u2";
  other.state_json = R"({"id":"u2"})";
  b.customers = {first, other, second};
  auto res = s->commit(b);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->customers_written, 2u);
  EXPECT_EQ(s->get_customer("u1"), std::optional<std::string>(R"({"id":"u1","n":2})"));
  EXPECT_EQ(s->get_customer("u2"), std::optional<std::string>(R"({"id":"u2"})"));
  // The first write's other parts all landed.
  EXPECT_EQ(s->dedup_at("u1", "m-u1"), std::optional<Millis>(500));
  EXPECT_EQ(s->dedup_at("u1", "m-u1-2"), std::optional<Millis>(600));
  EXPECT_EQ(s->timer_count(), 1u);
  EXPECT_EQ(s->outbox_depth("email"), 1u);
}

TEST(StoreBatch, TheOutboxPagesPerChannelInCommitOrder) {
  TempDir dir;
  auto s = open_store(dir.path);
  for (int round = 0; round < 3; ++round) {
    Batch b;
    CustomerWrite w;
    w.customer = "u1";
    w.deliveries = {delivery("e" + std::to_string(round), "u1", "email"),
                    delivery("s" + std::to_string(round), "u1", "sms")};
    b.customers.push_back(w);
    auto res = s->commit(b);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->outbox_added.at("email"), 1u);
    EXPECT_EQ(res->outbox_added.at("sms"), 1u);
  }
  auto email = s->outbox_scan("email", 0, 10);
  ASSERT_EQ(email.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(email[i].channel, "email");
    EXPECT_NE(email[i].record.find("\"e" + std::to_string(i) + "\""), std::string::npos) << email[i].record;
  }
  EXPECT_LT(email[0].seq, email[1].seq);
  auto rest = s->outbox_scan("email", email[0].seq, 1);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].seq, email[1].seq);
  EXPECT_TRUE(s->outbox_scan("email", email[2].seq, 10).empty());
  EXPECT_EQ(s->outbox_scan("sms", 0, 10).size(), 3u);
  EXPECT_TRUE(s->outbox_scan("emai", 0, 10).empty()) << "a channel that is a prefix of another sees nothing";
}

TEST(StoreBatch, AFinalDeliveryUpdateRemovesTheOutboxEntryAndARetryKeepsIt) {
  TempDir dir;
  auto s = open_store(dir.path);
  Batch b;
  CustomerWrite w;
  w.customer = "u1";
  w.deliveries = {delivery("d1", "u1", "email"), delivery("d2", "u1", "email")};
  b.customers.push_back(w);
  ASSERT_TRUE(s->commit(b));
  auto out = s->outbox_scan("email", 0, 10);
  ASSERT_EQ(out.size(), 2u);
  Batch updates;
  DeliveryUpdate retry{"email", out[0].seq, "d1", "pending", 1, "timeout", false, "", "", "", 0, ""};
  DeliveryUpdate done{"email", out[1].seq, "d2", "delivered", 1, "", true, "", "", "j", 1, "s"};
  updates.deliveries = {retry, done};
  ASSERT_TRUE(s->commit(updates));
  EXPECT_EQ(s->outbox_depth("email"), 1u);
  EXPECT_NE(s->delivery_status("d1")->find("\"attempts\":1"), std::string::npos);
  EXPECT_NE(s->delivery_status("d2")->find("\"delivered\""), std::string::npos);
  EXPECT_EQ(s->journey_stats("j").count(std::string("1\0s\0delivery:delivered", 22)), 1u);
}

TEST(StoreBatch, TheOutboxCountIsTheOutboxAfterPutsDeletesAnErasureAndAReopen) {
  TempDir dir;
  {
    auto s = open_store(dir.path);
    Batch b;
    for (std::string id : {"u1", "u2"}) {
      CustomerWrite w;
      w.customer = id;
      w.deliveries = {delivery("e-" + id, id, "email"), delivery("p-" + id, id, "push")};
      b.customers.push_back(w);
    }
    ASSERT_TRUE(s->commit(b));
    EXPECT_EQ(s->outbox_entries(), 4u);
    auto out = s->outbox_scan("email", 0, 10);
    ASSERT_EQ(out.size(), 2u);
    Batch done;
    done.deliveries = {DeliveryUpdate{"email", out[0].seq, "e-u1", "delivered", 1, "", true, "", "", "", 0, ""}};
    ASSERT_TRUE(s->commit(done));
    ASSERT_TRUE(s->commit(done));  // recorded twice: the entry is deleted once
    EXPECT_EQ(s->outbox_depth("email"), 1u);
    EXPECT_EQ(s->outbox_depth("push"), 2u);
    ASSERT_TRUE(s->erase_customer("u2"));
    EXPECT_EQ(s->outbox_depth("email"), 0u);
    EXPECT_EQ(s->outbox_depth("push"), 1u);
    EXPECT_EQ(s->outbox_entries(), 1u);
  }
  auto s = open_store(dir.path);
  EXPECT_EQ(s->outbox_entries(), 1u);
  EXPECT_EQ(s->outbox_depth("push"), 1u);
  EXPECT_EQ(s->outbox_scan("push", 0, 10).size(), 1u);
}

TEST(StoreBatch, AnUpdateForAnOutboxEntryErasedMeanwhileRecordsNothing) {
  TempDir dir;
  auto s = open_store(dir.path);
  Batch b;
  CustomerWrite w;
  w.customer = "u1";
  w.deliveries = {delivery("d1", "u1", "inapp"), delivery("d2", "u1", "inapp")};
  b.customers.push_back(w);
  ASSERT_TRUE(s->commit(b));
  auto out = s->outbox_scan("inapp", 0, 10);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE(s->erase_customer("u1"));
  // The gateway held both: one attempt succeeded (an in-app message), one will retry.
  DeliveryUpdate done{"inapp", out[0].seq, "d1", "delivered", 1, "", true, "u1", R"({"id":"d1"})", "j", 1, "s"};
  DeliveryUpdate retry{"inapp", out[1].seq, "d2", "pending", 1, "timeout", false, "", "", "", 0, ""};
  Batch updates;
  updates.deliveries = {done, retry};
  ASSERT_TRUE(s->commit(updates));
  EXPECT_FALSE(s->delivery_status("d1"));
  EXPECT_FALSE(s->delivery_status("d2"));
  EXPECT_TRUE(s->inbox_list("u1").empty());
  EXPECT_TRUE(s->journey_stats("j").empty());
  EXPECT_EQ(s->outbox_entries(), 0u);
}

TEST(StoreBatch, AWaitingRetryStoresItsDueTimeUntilTheFinalOutcome) {
  TempDir dir;
  auto s = open_store(dir.path);
  Batch b;
  CustomerWrite w;
  w.customer = "u1";
  w.deliveries = {delivery("d1", "u1", "email")};
  b.customers.push_back(w);
  ASSERT_TRUE(s->commit(b));
  auto seq = s->outbox_scan("email", 0, 10).at(0).seq;
  DeliveryUpdate retry{"email", seq, "d1", "pending", 1, "timeout", false, "", "", "", 0, ""};
  retry.retry_at = 1234567;
  Batch r;
  r.deliveries = {retry};
  ASSERT_TRUE(s->commit(r));
  EXPECT_NE(s->delivery_status("d1")->find("\"retry_at\":1234567"), std::string::npos) << *s->delivery_status("d1");
  Batch d;
  d.deliveries = {DeliveryUpdate{"email", seq, "d1", "delivered", 2, "", true, "", "", "", 0, ""}};
  ASSERT_TRUE(s->commit(d));
  EXPECT_EQ(s->delivery_status("d1")->find("retry_at"), std::string::npos) << *s->delivery_status("d1");
}

}  // namespace
}  // namespace waymark
