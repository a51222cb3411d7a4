// The catalog (src/core/catalog.cpp): deploys get the next version and are
// checked against the configured channels and templates; versions stored in
// LMDB come back on start even when the config or templates changed since.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <string>

#include "waymark/catalog.hpp"
#include "waymark/config.hpp"
#include "waymark/store.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/waymark-catalog-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

const char* kSmsJourney = R"({"id":"remind","entry":{"event":"Go"},"start":"s","steps":{
  "s":{"type":"send","channel":"sms","template":"text","next":"done"},"done":{"type":"exit"}}})";

Catalog catalog_with_channels(std::initializer_list<const char*> channels) {
  Catalog cat;
  for (const char* ch : channels)
    cat.channels[ch] = ChannelPolicy{ch, "", false, std::nullopt, std::nullopt};
  return cat;
}

TemplatePtr text_template(const char* channel) {
  std::vector<ValidationError> errors;
  return prepare_template(catalog_with_channels({channel}),
                          json::object{{"id", "text"}, {"channel", channel}, {"text", "hi"}}, "", errors);
}

TEST(Catalog, DeploysAreNumberedAndCheckedAgainstTheCatalog) {
  Catalog cat = catalog_with_channels({"sms"});
  std::vector<ValidationError> errors;
  EXPECT_FALSE(prepare_journey(cat, json::parse(kSmsJourney), "remind", errors));
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].path, "steps.s.template") << "the template is not deployed yet";

  auto with_t = with_template(cat, text_template("sms"));
  errors.clear();
  JourneyPtr v1 = prepare_journey(*with_t, json::parse(kSmsJourney), "remind", errors);
  ASSERT_TRUE(v1) << errors.at(0).message;
  EXPECT_EQ(v1->version, 1);
  auto next = with_journey(*with_t, v1);
  EXPECT_TRUE(same_as_latest(*next, json::parse(kSmsJourney)));
  JourneyPtr v2 = prepare_journey(*next, json::parse(kSmsJourney), "", errors);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->version, 2);
}

TEST(Catalog, TheIdInTheUrlMustMatchTheBodyOrFillsItIn) {
  auto cat = with_template(catalog_with_channels({"sms"}), text_template("sms"));
  std::vector<ValidationError> errors;
  EXPECT_FALSE(prepare_journey(*cat, json::parse(kSmsJourney), "other", errors));
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].path, "id");
  auto body = json::parse(kSmsJourney);
  body.as_object().erase("id");
  errors.clear();
  JourneyPtr j = prepare_journey(*cat, body, "remind", errors);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->id, "remind");
  errors.clear();
  EXPECT_FALSE(prepare_template(*cat, json::object{{"id", "a"}, {"channel", "sms"}, {"text", "x"}}, "b", errors));
  EXPECT_EQ(errors.at(0).path, "id");
}

TEST(Catalog, AStatusChangeKeepsTheVersions) {
  auto cat = with_template(catalog_with_channels({"sms"}), text_template("sms"));
  std::vector<ValidationError> errors;
  auto deployed = with_journey(*cat, prepare_journey(*cat, json::parse(kSmsJourney), "", errors));
  auto paused = with_status(*deployed, "remind", JourneyStatus::paused);
  EXPECT_EQ(paused->journeys.at("remind").status, JourneyStatus::paused);
  EXPECT_EQ(paused->journeys.at("remind").versions.size(), 1u);
  EXPECT_EQ(deployed->journeys.at("remind").status, JourneyStatus::active) << "snapshots are immutable";
  EXPECT_EQ(parse_status("archived"), std::optional<JourneyStatus>(JourneyStatus::archived));
  EXPECT_EQ(parse_status("gone"), std::nullopt);
}

void store_journey(Store& s, const char* json_text, int version, const char* status = "active") {
  Batch b;
  b.journeys.push_back(JourneyPut{"remind", version, json_text, status});
  ASSERT_TRUE(s.commit(b));
}

TEST(Catalog, StoredVersionsComeBackWithTheirStatusAndTemplates) {
  TempDir dir;
  auto store = Store::open(dir.path, 64);
  ASSERT_TRUE(store);
  Batch t;
  t.templates.push_back({"text", R"({"id":"text","channel":"sms","text":"hi"})"});
  ASSERT_TRUE((*store)->commit(t));
  store_journey(**store, kSmsJourney, 1);
  store_journey(**store, kSmsJourney, 2, "paused");
  Config config = default_config();
  std::vector<std::string> warnings;
  CatalogPtr cat = build_catalog(**store, config, warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.at(0);
  const JourneyEntry& e = cat->journeys.at("remind");
  ASSERT_EQ(e.versions.size(), 2u);
  EXPECT_EQ(e.version(2)->version, 2);
  EXPECT_EQ(e.status, JourneyStatus::paused);
  EXPECT_TRUE(cat->templates.count("text"));
  EXPECT_EQ(cat->channels.size(), config.channels.size());
}

TEST(Catalog, AStoredVersionSurvivesItsChannelLeavingTheConfig) {
  // Customers inside that version must finish on it: the engine suppresses a
  // send to a channel it no longer has ("unknown_channel") instead.
  TempDir dir;
  auto store = Store::open(dir.path, 64);
  ASSERT_TRUE(store);
  store_journey(**store, kSmsJourney, 1);
  Config config = default_config();
  config.channels.erase("sms");
  std::vector<std::string> warnings;
  CatalogPtr cat = build_catalog(**store, config, warnings);
  EXPECT_TRUE(warnings.empty()) << warnings.at(0);
  ASSERT_EQ(cat->journeys.at("remind").versions.size(), 1u);
  EXPECT_TRUE(cat->journeys.at("remind").version(1));
  EXPECT_FALSE(cat->channels.count("sms"));
}

TEST(Catalog, AnUnreadableStoredVersionIsReportedAndKeepsItsPlace) {
  TempDir dir;
  auto store = Store::open(dir.path, 64);
  ASSERT_TRUE(store);
  store_journey(**store, "{not json", 1);
  store_journey(**store, kSmsJourney, 2);
  std::vector<std::string> warnings;
  CatalogPtr cat = build_catalog(**store, default_config(), warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("version 1"), std::string::npos) << warnings[0];
  const JourneyEntry& e = cat->journeys.at("remind");
  ASSERT_EQ(e.versions.size(), 2u);
  EXPECT_FALSE(e.version(1));
  ASSERT_TRUE(e.version(2));
  EXPECT_EQ(e.version(2)->version, 2);
}

// ---- journeys_dir seeding (PRODUCT.md §11) -------------------------------------------

std::vector<SeedFile> seed_files(std::initializer_list<std::pair<const char*, const char*>> files) {
  std::vector<SeedFile> out;
  for (auto& [path, text] : files)
    out.push_back(SeedFile{path, json::parse(text)});
  return out;
}

const char* kTextTemplate = R"({"id":"text","channel":"sms","text":"hi"})";

TEST(Seed, NewIdsAreSeededTemplatesFirst) {
  auto seeded = seed_catalog(catalog_with_channels({"sms"}),
                             seed_files({{"a/remind.json", kSmsJourney}, {"a/text.json", kTextTemplate}}));
  ASSERT_TRUE(seeded) << seeded.error().message;
  EXPECT_TRUE(seeded->catalog->templates.count("text"));
  ASSERT_EQ(seeded->batch.journeys.size(), 1u);
  EXPECT_EQ(seeded->batch.journeys[0].version, 1);
  EXPECT_EQ(seeded->batch.journeys[0].status, "active");
  EXPECT_EQ(seeded->batch.templates.size(), 1u);
  EXPECT_EQ(seeded->catalog->journeys.at("remind").versions.size(), 1u);
  EXPECT_TRUE(seeded->kept.empty());
}

TEST(Seed, AnExistingIdIsNeverReplacedHoweverItWasDeployed) {
  auto first = seed_catalog(catalog_with_channels({"sms"}),
                            seed_files({{"text.json", kTextTemplate}, {"remind.json", kSmsJourney}}));
  ASSERT_TRUE(first);
  // The API deployed version 2 and changed the template since.
  json::value v2 = json::parse(kSmsJourney);
  v2.as_object()["name"] = "from the API";
  std::vector<ValidationError> errors;
  auto deployed = with_journey(*first->catalog, prepare_journey(*first->catalog, v2, "", errors));
  deployed = with_template(*deployed, prepare_template(*first->catalog, json::parse(R"({"id":"text","channel":"sms","text":"api"})"),
                                                       "", errors));

  auto same = seed_catalog(*deployed, seed_files({{"text.json", kTextTemplate}, {"remind.json", kSmsJourney}}));
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_TRUE(same->batch.empty()) << "nothing to store";
  EXPECT_EQ(same->catalog->journeys.at("remind").versions.size(), 2u);
  EXPECT_EQ(same->catalog->journeys.at("remind").latest()->name, "from the API");
  EXPECT_EQ(same->catalog->templates.at("text")->source.at("text"), "api");
  ASSERT_EQ(same->kept.size(), 2u) << "both files differ from what is deployed";
  EXPECT_NE(same->kept[1].find("remind.json: journey 'remind' exists (version 2)"), std::string::npos)
    << same->kept[1];

  auto unchanged = seed_catalog(*first->catalog, seed_files({{"text.json", kTextTemplate}, {"remind.json", kSmsJourney}}));
  ASSERT_TRUE(unchanged);
  EXPECT_TRUE(unchanged->batch.empty());
  EXPECT_TRUE(unchanged->kept.empty()) << "a file equal to what is deployed is not reported";
}

TEST(Seed, AnInvalidNewFileFailsWithItsPathAndField) {
  auto seeded = seed_catalog(catalog_with_channels({"sms"}), seed_files({{"dir/remind.json", kSmsJourney}}));
  ASSERT_FALSE(seeded);
  EXPECT_NE(seeded.error().message.find("dir/remind.json: steps.s.template"), std::string::npos)
    << seeded.error().message;
}

// Issue #12: a jump to a journey that does not exist passed validation (the
// customer then left its journey for nothing).
const char* kJumpJourney = R"({"id":"hop","entry":{"event":"Go"},"start":"j","steps":{
  "j":{"type":"jump","journey":"remind"}}})";

std::vector<ValidationError> jump_errors(const Catalog& cat, const char* body, const std::set<std::string>& deploying = {}) {
  std::vector<ValidationError> errors;
  auto j = prepare_journey(cat, json::parse(body), "", errors, deploying);
  EXPECT_EQ(j == nullptr, !errors.empty());
  return errors;
}

TEST(Catalog, AJumpToAnUnknownJourneyIsRefusedWithItsPath) {
  auto cat = with_template(catalog_with_channels({"sms"}), text_template("sms"));
  auto errors = jump_errors(*cat, kJumpJourney);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "steps.j.journey");
  EXPECT_NE(errors[0].message.find("unknown journey 'remind'"), std::string::npos) << errors[0].message;
  EXPECT_TRUE(jump_errors(*cat, R"({"id":"hop","entry":{"event":"Go"},"start":"j","steps":{
    "j":{"type":"jump","journey":"hop"}}})").empty()) << "a jump to itself needs no lookup";
}

TEST(Catalog, AJumpMayGoToADeployedOrPausedJourneyButNotAnArchivedOne) {
  std::vector<ValidationError> errors;
  auto base = with_template(catalog_with_channels({"sms"}), text_template("sms"));
  auto deployed = with_journey(*base, prepare_journey(*base, json::parse(kSmsJourney), "", errors));
  EXPECT_TRUE(jump_errors(*deployed, kJumpJourney).empty());
  EXPECT_TRUE(jump_errors(*with_status(*deployed, "remind", JourneyStatus::paused), kJumpJourney).empty());
  auto archived = jump_errors(*with_status(*deployed, "remind", JourneyStatus::archived), kJumpJourney);
  ASSERT_EQ(archived.size(), 1u);
  EXPECT_EQ(archived[0].path, "steps.j.journey");
  EXPECT_NE(archived[0].message.find("archived"), std::string::npos) << archived[0].message;
}

TEST(Catalog, JourneysDeployedTogetherMayJumpToEachOther) {
  auto cat = with_template(catalog_with_channels({"sms"}), text_template("sms"));
  EXPECT_TRUE(jump_errors(*cat, kJumpJourney, {"hop", "remind"}).empty());
  EXPECT_FALSE(jump_errors(*cat, kJumpJourney, {"hop", "other"}).empty());
}

TEST(Catalog, TemplatesAreValidatedAgainstTheCatalogsChannels) {
  std::vector<ValidationError> errors;
  EXPECT_FALSE(prepare_template(catalog_with_channels({"email"}),
                                json::object{{"id", "text"}, {"channel", "sms"}, {"text", "hi"}}, "", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "channel");
}

}  // namespace
}  // namespace waymark
