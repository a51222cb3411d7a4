// Journeys against the real binary across restarts: journeys_dir only seeds
// ids with no version yet (PRODUCT.md §11).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

void write_seed(const Node& node, const std::string& name, const std::string& text) {
  std::ofstream(node.journeys_dir() + "/" + name) << text;
}

json::value journey(Node& node, const std::string& id) {
  auto r = node.get("/api/journeys/" + id);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json();
}

json::value template_named(Node& node, const std::string& id) {
  for (auto& t : array_at(node.get("/api/templates").json(), "templates"))
    if (str_at(t, "id") == id)
      return t;
  return nullptr;
}

std::string with_name(const char* journey_text, const std::string& name) {
  json::value v = parse_json(journey_text);
  v.as_object()["name"] = name;
  return json::serialize(v);
}

TEST(JourneysDir, ARestartKeepsWhatTheApiDeployedOverTheSeedFiles) {
  Node node;
  write_seed(node, "welcome.template.json", fixtures::kWelcomeTemplate);
  write_seed(node, "reminder.template.json", fixtures::kReminderTemplate);
  write_seed(node, "onboarding.journey.json", fixtures::kOnboardingJourney);
  ASSERT_TRUE(node.start());
  ASSERT_EQ(int_at(journey(node, "onboarding"), "version"), 1);

  const std::string v2 = with_name(fixtures::kOnboardingJourney, "Onboarding v2 (API)");
  ASSERT_EQ(node.deploy_journey(v2).status, 201);
  json::value welcome = parse_json(fixtures::kWelcomeTemplate);
  welcome.as_object()["subject"] = "Hello from the API";
  ASSERT_EQ(node.deploy_template(json::serialize(welcome)).status, 201);

  ASSERT_EQ(node.terminate(), 0);
  ASSERT_TRUE(node.restart());
  auto j = journey(node, "onboarding");
  EXPECT_EQ(int_at(j, "version"), 2) << "the seed file was deployed again over the API's version";
  EXPECT_EQ(array_at(j, "versions").size(), 2u) << j;
  EXPECT_EQ(at_path(j, "definition.name"), json::value("Onboarding v2 (API)")) << j;
  EXPECT_EQ(at_path(template_named(node, "welcome"), "subject"), json::value("Hello from the API"))
    << "the seed file replaced the API's template";
}

TEST(JourneysDir, AnUnchangedSeedFileCreatesNoVersionAtStartAndANewIdIsSeeded) {
  Node node;
  write_seed(node, "welcome.template.json", fixtures::kWelcomeTemplate);
  write_seed(node, "reminder.template.json", fixtures::kReminderTemplate);
  write_seed(node, "onboarding.journey.json", fixtures::kOnboardingJourney);
  ASSERT_TRUE(node.start());
  for (int run = 0; run < 2; ++run) {
    ASSERT_EQ(node.terminate(), 0);
    ASSERT_TRUE(node.restart());
  }
  auto j = journey(node, "onboarding");
  EXPECT_EQ(int_at(j, "version"), 1) << j;
  EXPECT_EQ(array_at(j, "versions").size(), 1u) << j;

  // An edited file of an existing id is left out; a file of a new id is seeded.
  write_seed(node, "onboarding.journey.json", with_name(fixtures::kOnboardingJourney, "Edited file"));
  write_seed(node, "cart_reminder.template.json", fixtures::kCartTemplate);
  write_seed(node, "abandoned-cart.journey.json", fixtures::kAbandonedCartJourney);
  ASSERT_EQ(node.terminate(), 0);
  ASSERT_TRUE(node.restart());
  j = journey(node, "onboarding");
  EXPECT_EQ(int_at(j, "version"), 1) << j;
  EXPECT_EQ(at_path(j, "definition.name"), json::value("Onboarding")) << j;
  EXPECT_EQ(int_at(journey(node, "abandoned-cart"), "version"), 1);
  EXPECT_NE(node.logs().find("the file is not applied"), std::string::npos) << "the operator is told";
}

}  // namespace
}  // namespace waymark::it
