// Drafts in the catalog (PRODUCT.md §11): a draft is numbered like any
// version but the engine never enters it; approval makes it the version new
// customers enter; the live version survives the catalog blob (replay) and a
// rebuild from the store.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "waymark/catalog.hpp"
#include "waymark/config.hpp"
#include "waymark/engine.hpp"
#include "waymark/store.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/waymark-ops-catalog-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

/// Go -> wait `wait` -> exit.
json::value waiting(const std::string& wait) {
  return json::parse(R"({"id":"j","entry":{"event":"Go"},"start":"w","steps":{
    "w":{"type":"wait","duration":")" + wait + R"(","next":"done"},"done":{"type":"exit"}}})");
}

JourneyPtr prepared(const Catalog& cat, const std::string& wait) {
  std::vector<ValidationError> errors;
  auto j = prepare_journey(cat, waiting(wait), "j", errors);
  EXPECT_TRUE(j) << (errors.empty() ? "" : errors[0].message);
  return j;
}

/// The version the customer `user` enters on a "Go" event (0 = none).
int entered_version(const Catalog& cat, const std::string& user) {
  CustomerState s;
  s.id = user;
  Event e;
  e.type = EventType::track;
  e.user_id = user;
  e.name = "Go";
  e.timestamp = 1000;
  on_event(s, cat, e, 1000);
  return s.instances.empty() ? 0 : s.instances.front().version;
}

TEST(OpsCatalog, ADraftIsNumberedButNeverEnteredUntilItIsMadeLive) {
  auto cat = std::make_shared<Catalog>();
  auto draft1 = prepared(*cat, "1d");
  EXPECT_EQ(draft1->version, 1);
  CatalogPtr c = with_draft(*cat, draft1);
  EXPECT_EQ(c->journeys.at("j").live_version(), 0);
  EXPECT_EQ(entered_version(*c, "a"), 0) << "only a draft: nobody enters";
  c = with_live(*c, "j", 1);
  EXPECT_EQ(entered_version(*c, "b"), 1);
  auto draft2 = prepared(*c, "2d");
  EXPECT_EQ(draft2->version, 2) << "drafts take the next number";
  c = with_draft(*c, draft2);
  EXPECT_EQ(entered_version(*c, "c"), 1) << "the draft 2 is not entered";
  auto v3 = prepared(*c, "3d");
  EXPECT_EQ(v3->version, 3);
  auto live3 = with_journey(*c, v3);  // a deploy without approval: live at once
  EXPECT_EQ(entered_version(*live3, "d"), 3);
  c = with_live(*c, "j", 2);
  EXPECT_EQ(entered_version(*c, "e"), 2);
}

TEST(OpsCatalog, TheLiveVersionSurvivesTheBlobAndAStoreRebuild) {
  auto cat = std::make_shared<Catalog>();
  CatalogPtr c = with_journey(*cat, prepared(*cat, "1d"));
  c = with_draft(*c, prepared(*c, "2d"));
  Config config;
  std::vector<std::string> warnings;
  auto back = catalog_from_blob(catalog_blob(*c), config, 7, warnings);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->journeys.at("j").versions.size(), 2u);
  EXPECT_EQ(back->journeys.at("j").live_version(), 1);
  EXPECT_EQ(entered_version(*back, "a"), 1);

  TempDir dir;
  auto store = Store::open(dir.path, 64);
  ASSERT_TRUE(store);
  Batch b;
  b.journeys.push_back(JourneyPut{"j", 1, json::serialize(waiting("1d")), "active", 1, ""});
  b.journeys.push_back(JourneyPut{"j", 2, json::serialize(waiting("2d")), "", 1, ""});
  ASSERT_TRUE((*store)->commit(b));
  auto built = build_catalog(**store, config, warnings);
  EXPECT_EQ(built->journeys.at("j").live_version(), 1);
  EXPECT_EQ(entered_version(*built, "b"), 1);
  EXPECT_TRUE(warnings.empty());
}

}  // namespace
}  // namespace waymark
