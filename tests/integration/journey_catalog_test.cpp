// Journeys against the real binary across restarts and in their stats:
// journeys_dir only seeds ids with no version yet (PRODUCT.md §11), and a
// goal's conversions (count and value sum) show per version and in total in
// GET /api/journeys/{id} and `waymark journey ID`.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/cli.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

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

// ---- goal results -------------------------------------------------------------------------

/// Signed Up -> wait 2d -> exit; goal Order Completed within 30d, value = revenue.
const char* kGoalJourney = R"({
  "id": "goals", "name": "Goals", "owner": "integration-tests",
  "entry": {"event": "Signed Up"},
  "goal": {"event": "Order Completed", "within": "30d", "value": "properties.revenue"},
  "start": "wait",
  "steps": {"wait": {"type": "wait", "duration": "2d", "next": "done"}, "done": {"type": "exit"}}
})";


json::value version_stats(const json::value& j, int version) {
  for (auto& v : array_at(at_path(j, "stats"), "by_version"))
    if (int_at(v, "version") == version)
      return v;
  return nullptr;
}

TEST(JourneyResults, GoalConversionsAndTheirValueShowPerVersionInTotalAndInTheCli) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.deploy_journey(kGoalJourney).status, 201);
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  ASSERT_TRUE(c.send_line(track("g1", "Signed Up", {}, "g-1")));
  ASSERT_TRUE(c.wait_ack(1)) << c.transcript();
  ASSERT_EQ(node.deploy_journey(with_name(kGoalJourney, "Goals v2")).status, 201);
  ASSERT_TRUE(c.send_line(track("g2", "Signed Up", {}, "g-2")));
  ASSERT_TRUE(c.send_line(track("g3", "Signed Up", {}, "g-3")));
  ASSERT_TRUE(c.send_line(track("g1", "Order Completed", {{"revenue", 30}}, "g-4")));
  ASSERT_TRUE(c.send_line(track("g2", "Order Completed", {{"revenue", 12.4}}, "g-5")));
  ASSERT_TRUE(c.wait_ack(5)) << c.transcript();

  auto j = journey(node, "goals");
  EXPECT_EQ(at_path(j, "stats.conversions"), (json::value{{"count", 2}, {"value", 42}})) << j;
  auto v1 = version_stats(j, 1), v2 = version_stats(j, 2);
  EXPECT_EQ(at_path(v1, "conversions"), (json::value{{"count", 1}, {"value", 30}})) << j;
  EXPECT_EQ(int_at(v1, "entered"), 1) << j;
  EXPECT_EQ(at_path(v2, "conversions"), (json::value{{"count", 1}, {"value", 12}})) << j;
  EXPECT_EQ(int_at(v2, "entered"), 2) << j;
  EXPECT_EQ(int_at(v2, "active"), 1) << "g3 has not converted: " << j;

  auto show = waymark("journey goals --url http://127.0.0.1:" + std::to_string(node.http_port()));
  EXPECT_EQ(show.code, 0) << show.out;
  EXPECT_NE(show.out.find("conversions 2 (value 42)"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("CONVERSIONS"), std::string::npos) << "the per-version table: " << show.out;
}

}  // namespace
}  // namespace waymark::it
