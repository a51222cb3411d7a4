// What the store keeps for engagement feedback (PRODUCT.md §10): a delivery's
// step and tracked-link targets with its status, and the "status event owed"
// mark written in the transaction of a final delivered / failed / dead status,
// removed by Batch::meta_erase and by erasure of the customer.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "waymark/json.hpp"
#include "waymark/store.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

const std::string kMark = std::string("status_event") + '\0';

struct StoreEngagement : ::testing::Test {
  std::string dir;
  std::unique_ptr<Store> store;

  void SetUp() override {
    char tmpl[] = "/tmp/waymark-store-eng-XXXXXX";
    dir = ::mkdtemp(tmpl);
    auto s = Store::open(dir, 64);
    ASSERT_TRUE(s) << s.error().message;
    store = std::move(*s);
  }
  void TearDown() override {
    store.reset();
    std::filesystem::remove_all(dir);
  }

  /// Commits one delivery of `customer` and returns its outbox seq.
  uint64_t send(const std::string& id, const std::string& customer, std::vector<std::string> links = {}) {
    Delivery d;
    d.id = id;
    d.channel = "email";
    d.customer = customer;
    d.journey = "promo";
    d.version = 2;
    d.step = "send_promo";
    d.template_id = "promo";
    d.content = json::object{{"body", "x"}};
    d.links = std::move(links);
    d.at = 1000;
    CustomerWrite w;
    w.customer = customer;
    w.state_json = R"({"id":")" + customer + R"("})";
    w.deliveries.push_back(d);
    Batch b;
    b.customers.push_back(w);
    EXPECT_TRUE(store->commit(b));
    for (auto& r : store->outbox_scan("email", 0, 100))
      if (r.record.find(id) != std::string::npos)
        return r.seq;
    ADD_FAILURE() << "no outbox entry for " << id;
    return 0;
  }

  void finish(const std::string& id, uint64_t seq, const std::string& status, bool final = true) {
    DeliveryUpdate u;
    u.channel = "email";
    u.seq = seq;
    u.id = id;
    u.status = status;
    u.attempts = 1;
    u.final = final;
    Batch b;
    b.deliveries.push_back(u);
    ASSERT_TRUE(store->commit(b));
  }

  std::vector<std::pair<std::string, std::string>> marks() { return store->meta_prefixed(kMark, 100); }
};

TEST_F(StoreEngagement, TheDeliveryRecordKeepsItsStepAndLinkTargetsThroughStatusUpdates) {
  const uint64_t seq = send("d1", "u1", {"https://a.example/x", "https://b.example/"});
  finish("d1", seq, "delivered");
  auto record = store->delivery_status("d1");
  ASSERT_TRUE(record);
  std::error_code ec;
  auto v = parse_stored_json(*record, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(v.at("status"), "delivered");
  EXPECT_EQ(v.at("customer"), "u1");
  EXPECT_EQ(v.at("journey"), "promo");
  EXPECT_EQ(v.at("version"), 2);
  EXPECT_EQ(v.at("step"), "send_promo");
  EXPECT_EQ(v.at("links"), (json::array{"https://a.example/x", "https://b.example/"}));
}

TEST_F(StoreEngagement, FinalDeliveredFailedAndDeadOweAnEventOthersDoNot) {
  const uint64_t s1 = send("d1", "u1"), s2 = send("d2", "u1"), s3 = send("d3", "u1"), s4 = send("d4", "u1");
  finish("d1", s1, "pending", false);  // a waiting retry
  EXPECT_TRUE(marks().empty());
  finish("d1", s1, "delivered");
  finish("d2", s2, "failed");
  finish("d3", s3, "dead");
  finish("d4", s4, "unknown");
  EXPECT_EQ(marks(), (std::vector<std::pair<std::string, std::string>>{
                         {kMark + "d1", "delivered"}, {kMark + "d2", "failed"}, {kMark + "d3", "dead"}}));
  EXPECT_EQ(store->meta_prefixed(kMark, 2).size(), 2u) << "at most max";
  Batch erase;
  erase.meta_erase = {kMark + "d1", kMark + "d3", kMark + "never-there"};
  ASSERT_TRUE(store->commit(erase));
  EXPECT_EQ(marks(), (std::vector<std::pair<std::string, std::string>>{{kMark + "d2", "failed"}}));
  finish("d2", s2, "delivered");
  EXPECT_EQ(marks().size(), 1u) << "an update of a removed outbox entry records nothing";
  EXPECT_EQ(marks()[0].second, "failed");
}

TEST_F(StoreEngagement, ACustomerWriteSettlesAMarkInItsOwnTransaction) {
  const uint64_t a = send("da", "ua"), b = send("db", "ua");
  finish("da", a, "delivered");
  finish("db", b, "dead");
  EXPECT_EQ(store->meta_count(kMark), 2u);
  CustomerWrite w;  // the commit of "Message Delivered" (or of its duplicate)
  w.customer = "ua";
  w.log_input = "input";
  w.meta_erase = {kMark + "da"};
  Batch batch;
  batch.customers.push_back(w);
  ASSERT_TRUE(store->commit(batch));
  EXPECT_EQ(marks(), (std::vector<std::pair<std::string, std::string>>{{kMark + "db", "dead"}}));
  EXPECT_EQ(store->meta_count(kMark), 1u);
  EXPECT_EQ(store->meta_count("no-such-prefix"), 0u);
}

TEST_F(StoreEngagement, ErasureRemovesTheMarksOfTheCustomersDeliveriesOnly) {
  const uint64_t a = send("da", "ua"), b = send("db", "ub");
  finish("da", a, "delivered");
  finish("db", b, "delivered");
  ASSERT_EQ(marks().size(), 2u);
  ASSERT_TRUE(store->erase_customer("ua"));
  EXPECT_FALSE(store->delivery_status("da"));
  EXPECT_EQ(marks(), (std::vector<std::pair<std::string, std::string>>{{kMark + "db", "delivered"}}));
}

}  // namespace
}  // namespace waymark
