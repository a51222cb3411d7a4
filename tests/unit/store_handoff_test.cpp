// Partition hand-off in the store (PRODUCT.md §9; include/waymark/store.hpp):
// what one member exports for the customers of moving partitions, another
// imports, and the first then erases, on two real LMDB environments. The
// moved customers end up whole on the receiver and gone from the sender; the
// others stay where they were.
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
    char tmpl[] = "/tmp/waymark-handoff-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

Delivery delivery(const std::string& id, const std::string& customer) {
  Delivery d;
  d.id = id;
  d.channel = "email";
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

/// Customer `id` with a state, a timer, a pending delivery, a dedup key and
/// (for the moving ones) an alias from "anon-<id>".
CustomerWrite customer(const std::string& id) {
  CustomerWrite w;
  w.customer = id;
  w.state_json = R"({"id":")" + id + R"("})";
  w.timers_set.push_back(TimerKey{5000, id, "t-" + id});
  w.deliveries.push_back(delivery("d-" + id, id));
  w.dedup_ids = {{"m-" + id, 500}};
  return w;
}

bool moving(std::string_view key) { return key.rfind("move", 0) == 0 || key.rfind("anon-move", 0) == 0; }
bool stays(std::string_view key) { return key.rfind("stay", 0) == 0 || key.rfind("own", 0) == 0; }

class StoreHandoff : public ::testing::Test {
protected:
  void SetUp() override {
    auto a = Store::open(from_dir.path, 64);
    auto b = Store::open(to_dir.path, 64);
    ASSERT_TRUE(a && b);
    from = std::move(*a);
    to = std::move(*b);
    Batch batch;
    for (auto id : {"move1", "move2", "move3", "stay1", "stay2"})
      batch.customers.push_back(customer(id));
    batch.customers[0].aliases_from.push_back("anon-move1");
    ASSERT_TRUE(from->commit(batch));
    // The receiver already has customers of its own, and an outbox entry.
    Batch own;
    own.customers.push_back(customer("own1"));
    ASSERT_TRUE(to->commit(own));
  }
  TempDir from_dir, to_dir;
  std::unique_ptr<Store> from, to;
};

TEST_F(StoreHandoff, ChunksCarryEveryRecordOfTheMovingCustomersAndNothingElse) {
  std::string cursor;
  size_t chunks = 0, records = 0;
  do {
    auto chunk = from->export_chunk(moving, stays, cursor, 4);
    ASSERT_TRUE(chunk) << chunk.error().message;
    EXPECT_LE(chunk->records.size(), 4u);
    for (auto& r : chunk->records)
      EXPECT_TRUE(r.db == HandoffRecord::aliases ? r.key == "anon-move1" : r.key.find("stay") == std::string::npos)
        << int(r.db) << " " << r.key;
    records += chunk->records.size();
    auto imported = to->import_chunk(*chunk);
    ASSERT_TRUE(imported) << imported.error().message;
    cursor = chunk->next;
    ++chunks;
  } while (!cursor.empty());
  // 3 customers x (state, timer, outbox entry, delivery record, dedup key) + 1 alias
  EXPECT_EQ(records, 3u * 5 + 1);
  EXPECT_EQ(chunks, 5u) << "16 records in chunks of at most 4: four full ones and an empty last one";
  for (auto id : {"move1", "move2", "move3"}) {
    EXPECT_EQ(to->get_customer(id), std::optional<std::string>(std::string(R"({"id":")") + id + "\"}"));
    EXPECT_EQ(to->dedup_at(id, std::string("m-") + id), std::optional<Millis>(500));
    EXPECT_TRUE(to->delivery_status(std::string("d-") + id).has_value());
  }
  EXPECT_EQ(to->resolve_alias("anon-move1"), std::optional<std::string>("move1"));
  EXPECT_EQ(to->timer_count(), 4u) << "own1's and the three moved";
  EXPECT_EQ(to->customer_count(), 4u);
  EXPECT_EQ(to->outbox_depth("email"), 4u);
  auto out = to->outbox_scan("email", 0, 10);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_NE(out[0].record.find("d-own1"), std::string::npos) << "the receiver's own entry keeps its place";
  for (size_t i = 1; i < out.size(); ++i)
    EXPECT_GT(out[i].seq, out[i - 1].seq) << "imported entries get the receiver's next numbers";

  auto erased = from->erase_moved(moving, stays);
  ASSERT_TRUE(erased) << erased.error().message;
  EXPECT_EQ(*erased, 16u);
  EXPECT_EQ(from->customer_count(), 2u);
  EXPECT_EQ(from->timer_count(), 2u);
  EXPECT_EQ(from->outbox_depth("email"), 2u);
  EXPECT_FALSE(from->get_customer("move2"));
  EXPECT_FALSE(from->resolve_alias("anon-move1"));
  EXPECT_TRUE(from->get_customer("stay1"));
  auto last = from->export_chunk(moving, stays, "", 100);
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->records.empty()) << "nothing left to hand over";
}

TEST_F(StoreHandoff, AnAliasStaysWhileEitherOfItsIdsIsOwnedHere) {
  Batch b;
  CustomerWrite w;
  w.customer = "stay1";
  w.aliases_from = {"move-anon"};  // a moving id merged into a customer that stays: the proof of the merge stays
  b.customers.push_back(w);
  CustomerWrite w2;
  w2.customer = "move2";
  w2.aliases_from = {"stay-anon"};  // a route kept here for an id of this node
  b.customers.push_back(w2);
  ASSERT_TRUE(from->commit(b));
  auto chunk = from->export_chunk(moving, stays, "", 1000);
  ASSERT_TRUE(chunk);
  for (auto& r : chunk->records)
    EXPECT_FALSE(r.db == HandoffRecord::aliases && (r.key == "move-anon" || r.key == "stay-anon")) << r.key;
  ASSERT_TRUE(from->erase_moved(moving, stays));
  EXPECT_EQ(from->resolve_alias("move-anon"), std::optional<std::string>("stay1"));
  EXPECT_EQ(from->resolve_alias("stay-anon"), std::optional<std::string>("move2"));
  EXPECT_FALSE(from->resolve_alias("anon-move1")) << "an alias of two moving ids moved";
}

TEST_F(StoreHandoff, HeldPartitionsNameThePartitionsOfEveryStoredRecord) {
  auto held = from->held_partitions(1, [](uint32_t) { return true; });
  EXPECT_EQ(held, std::set<uint32_t>{0});
  EXPECT_TRUE(from->held_partitions(1, [](uint32_t) { return false; }).empty());
  auto none = to->held_partitions(64, [](uint32_t) { return false; });
  EXPECT_TRUE(none.empty());
}

TEST_F(StoreHandoff, AChunkImportedTwiceStoresTheSameCustomers) {
  auto chunk = from->export_chunk(moving, stays, "", 1000);
  ASSERT_TRUE(chunk);
  ASSERT_TRUE(to->import_chunk(*chunk));
  ASSERT_TRUE(to->import_chunk(*chunk));  // the sender died after the first import and sent it again
  EXPECT_EQ(to->customer_count(), 4u);
  EXPECT_EQ(to->timer_count(), 4u);
  EXPECT_EQ(to->get_customer("move3"), std::optional<std::string>(R"({"id":"move3"})"));
}

}  // namespace
}  // namespace waymark
