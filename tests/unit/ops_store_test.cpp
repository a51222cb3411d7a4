// The store's part of PRODUCT.md §11 on a real LMDB environment: version
// records and the live version of a journey, and the audit log ordered by
// its node-clock time, read by range and by page, surviving a reopen.
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
    char tmpl[] = "/tmp/waymark-ops-store-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

bool all(const std::string&) { return true; }

TEST(OpsStore, VersionRecordsAndTheLiveVersionAreStoredWithTheJourney) {
  TempDir dir;
  {
    auto store = Store::open(dir.path, 64);
    ASSERT_TRUE(store) << store.error().message;
    Batch b;
    b.journeys.push_back(JourneyPut{"j", 1, R"({"id":"j"})", "active", 1, R"({"author":"a"})"});
    b.journeys.push_back(JourneyPut{"j", 2, R"({"id":"j","v":2})", "", 1, R"({"author":"b"})"});  // a draft
    ASSERT_TRUE((*store)->commit(b));
    Batch approve;  // version 2 goes live; its definition is kept as stored
    approve.journeys.push_back(JourneyPut{"j", 2, "", "", 2, R"({"author":"b","approver":"c"})"});
    ASSERT_TRUE((*store)->commit(approve));
  }
  auto store = Store::open(dir.path, 64);
  ASSERT_TRUE(store);
  auto journeys = (*store)->journeys();
  ASSERT_EQ(journeys.size(), 1u);
  EXPECT_EQ(journeys[0].latest, 2);
  EXPECT_EQ(journeys[0].live, 2);
  EXPECT_EQ(journeys[0].versions, (std::vector<std::string>{R"({"id":"j"})", R"({"id":"j","v":2})"}));
  auto records = (*store)->journey_versions("j");
  EXPECT_EQ(records, (std::map<int, std::string>{{1, R"({"author":"a"})"}, {2, R"({"author":"b","approver":"c"})"}}));
  EXPECT_TRUE((*store)->journey_versions("jj").empty()) << "another id, even one it prefixes, has none";
}

TEST(OpsStore, AJourneyStoredBeforeLiveWasRecordedReadsAsLatest) {
  TempDir dir;
  auto store = Store::open(dir.path, 64);
  Batch b;
  b.journeys.push_back(JourneyPut{"old", 1, R"({"id":"old"})", "active", -1, ""});
  ASSERT_TRUE((*store)->commit(b));
  EXPECT_EQ((*store)->journeys().at(0).live, -1);
}

TEST(OpsStore, TheAuditLogIsOrderedByTimeThenWriteReadByRangeAndPagedAndSurvivesAReopen) {
  TempDir dir;
  {
    auto store = Store::open(dir.path, 64);
    ASSERT_TRUE(store);
    Batch b1;
    b1.audit = {{3000, "c"}, {1000, "a"}};
    ASSERT_TRUE((*store)->commit(b1));
    Batch b2;
    b2.audit = {{1000, "a2"}, {-5000, "before-1970"}, {2000, "b"}};
    ASSERT_TRUE((*store)->commit(b2));
  }
  auto store = Store::open(dir.path, 64);
  auto page = (*store)->audit(kTimeMin, kTimeMax, "", 100, 100, all);
  EXPECT_EQ(page.entries, (std::vector<std::string>{"before-1970", "a", "a2", "b", "c"}));
  EXPECT_EQ(page.next, "");
  // [1000, 3000): the bound is exclusive at the store.
  EXPECT_EQ((*store)->audit(1000, 3000, "", 100, 100, all).entries, (std::vector<std::string>{"a", "a2", "b"}));
  // Pages of 2: each "next" continues right after the last entry.
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto p = (*store)->audit(kTimeMin, kTimeMax, cursor, 2, 100, all);
    seen.insert(seen.end(), p.entries.begin(), p.entries.end());
    cursor = p.next;
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"before-1970", "a", "a2", "b", "c"}));
  // A filter keeps what it likes, scanning at most scan_max entries per page.
  auto only_a = [](const std::string& e) { return e[0] == 'a'; };
  auto p = (*store)->audit(kTimeMin, kTimeMax, "", 100, 3, only_a);
  EXPECT_EQ(p.entries, (std::vector<std::string>{"a", "a2"}));
  ASSERT_FALSE(p.next.empty()) << "3 scanned, 2 left";
  auto rest = (*store)->audit(kTimeMin, kTimeMax, p.next, 100, 3, only_a);
  EXPECT_TRUE(rest.entries.empty());
  EXPECT_EQ(rest.next, "");
  // New entries after a reopen continue the sequence (none overwritten).
  Batch b3;
  b3.audit = {{1000, "a3"}};
  ASSERT_TRUE((*store)->commit(b3));
  EXPECT_EQ((*store)->audit(1000, 1001, "", 100, 100, all).entries, (std::vector<std::string>{"a", "a2", "a3"}));
}

TEST(OpsStore, AnErasureWritesItsAuditEntryInItsOwnTransactionAndTheSequenceGoesOn) {
  TempDir dir;
  auto store = Store::open(dir.path, 64);
  ASSERT_TRUE(store);
  Batch b;
  CustomerWrite w;
  w.customer = "gone";
  w.state_json = R"({"id":"gone"})";
  b.customers.push_back(w);
  b.audit = {{500, "before"}};
  ASSERT_TRUE((*store)->commit(b));
  AuditPut entry{700, "erase gone"};
  ASSERT_TRUE((*store)->erase_customer("gone", &entry));
  EXPECT_FALSE((*store)->get_customer("gone"));
  Batch after;
  after.audit = {{700, "later"}};
  ASSERT_TRUE((*store)->commit(after));
  EXPECT_EQ((*store)->audit(kTimeMin, kTimeMax, "", 100, 100, all).entries,
            (std::vector<std::string>{"before", "erase gone", "later"}));
}

}  // namespace
}  // namespace waymark
