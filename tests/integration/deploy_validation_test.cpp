// Deploys refuse what could never run (issue #12): a template with no
// channel, an unknown channel or an unknown field; a jump to a journey that
// does not exist or is archived. The same rules hold for PUT /api/*, for
// `waymark validate` and for journeys_dir at start, where the journeys of the
// directory are validated as one set (they may jump to each other).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "support/events.hpp"
#include "support/cli.hpp"
#include "support/node.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

::testing::AssertionResult refused_at(const HttpResponse& r, const std::string& path, const std::string& words) {
  if (r.status != 422)
    return ::testing::AssertionFailure() << "expected 422: " << r.describe();
  for (auto& e : array_at(r.json(), "errors"))
    if (str_at(e, "path") == path && str_at(e, "message").find(words) != std::string::npos)
      return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no error at " << path << " saying '" << words << "': " << r.body;
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }


std::string jump_journey(const std::string& id, const std::string& target) {
  return R"({"id":")" + id + R"(","entry":{"event":"Go )" + id + R"("},"start":"j",
    "steps":{"j":{"type":"jump","journey":")" + target + R"("}}})";
}

TEST(DeployValidation, TemplatesNeedAConfiguredChannelAndOnlyKnownFields) {
  Node node;
  ASSERT_TRUE(node.start());
  EXPECT_TRUE(refused_at(node.put("/api/templates/t1", R"({"id":"t1","body":"x"})"), "channel", "missing"));
  EXPECT_TRUE(refused_at(node.put("/api/templates/t2", R"({"id":"t2","channel":"fax","body":"x"})"), "channel",
                         "unknown channel 'fax'"));
  EXPECT_TRUE(refused_at(node.put("/api/templates/t3", R"({"id":"t3","channel":"email","subjet":"Hi","body":"x"})"),
                         "subjet", "unknown field"));
  auto ok = node.put("/api/templates/t4", R"({"id":"t4","channel":"email","subject":"Hi","body":"x"})");
  EXPECT_EQ(ok.status, 201) << ok.describe();
  auto list = node.get("/api/templates");
  EXPECT_NE(list.body.find("\"t4\""), std::string::npos) << list.body;
  for (const char* id : {"\"t1\"", "\"t2\"", "\"t3\""})
    EXPECT_EQ(list.body.find(id), std::string::npos) << id << " was stored: " << list.body;

  const std::string file = node.root() + "/no-channel.json";
  write_file(file, R"({"id":"nc","subject":"Hi","body":"x"})");
  auto v = waymark("validate " + file + " --config " + node.root() + "/config.json");
  EXPECT_EQ(v.code, 1) << v.out;
  EXPECT_NE(v.out.find("channel: missing"), std::string::npos) << v.out;
}

TEST(DeployValidation, AJumpMustReachADeployedJourneyThatIsNotArchived) {
  Node node;
  ASSERT_TRUE(node.start());
  EXPECT_TRUE(refused_at(node.put("/api/journeys/hop", jump_journey("hop", "nowhere")), "steps.j.journey",
                         "unknown journey 'nowhere'"));
  EXPECT_EQ(node.get("/api/journeys/hop").status, 404);
  auto target = node.put("/api/journeys/target", jump_journey("target", "target"));
  ASSERT_EQ(target.status, 201) << "a jump to itself: " << target.describe();
  auto hop = node.put("/api/journeys/hop", jump_journey("hop", "target"));
  EXPECT_EQ(hop.status, 201) << hop.describe();
  ASSERT_EQ(node.post("/api/journeys/target/archive", "").status, 200);
  EXPECT_TRUE(refused_at(node.put("/api/journeys/hop2", jump_journey("hop2", "target")), "steps.j.journey",
                         "archived"));

  const std::string file = node.root() + "/hop3.json";
  write_file(file, jump_journey("hop3", "nowhere"));
  auto v = waymark("validate " + file + " --config " + node.root() + "/config.json");
  EXPECT_EQ(v.code, 1) << v.out;
  EXPECT_NE(v.out.find("steps.j.journey: unknown journey 'nowhere'"), std::string::npos) << v.out;
}

TEST(DeployValidation, JourneysDirIsValidatedAsOneSetAndABadTemplateStopsTheStart) {
  {
    Node node;
    // "a" sorts first and jumps to "b", deployed after it from the same directory.
    write_file(node.journeys_dir() + "/a.journey.json", jump_journey("a", "b"));
    write_file(node.journeys_dir() + "/b.journey.json", jump_journey("b", "a"));
    ASSERT_TRUE(node.start());
    EXPECT_EQ(node.get("/api/journeys/a").status, 200);
    EXPECT_EQ(node.get("/api/journeys/b").status, 200);
    auto v = waymark("validate " + node.journeys_dir() + "/a.journey.json --config " + node.root() + "/config.json");
    EXPECT_EQ(v.code, 0) << "offline, the directory's journeys are known: " << v.out;
  }
  {
    Node node;
    write_file(node.journeys_dir() + "/c.journey.json", jump_journey("c", "missing"));
    EXPECT_FALSE(node.start()) << "a jump out of the set";
    EXPECT_NE(node.logs().find("unknown journey 'missing'"), std::string::npos) << node.logs();
  }
  {
    Node node;
    // 1e400 parses to an infinite double, which would be stored as `Infinity`.
    const std::string file = node.journeys_dir() + "/inf.journey.json";
    write_file(file, R"({"id":"inf","entry":{"event":"Go","when":{"path":"event.properties.n","op":"gt",
      "value":1e400}},"start":"z","steps":{"z":{"type":"exit"}}})");
    EXPECT_FALSE(node.start()) << "a number outside the double range";
    EXPECT_NE(node.logs().find("entry.when.value: number outside the double range"), std::string::npos)
      << node.logs();
    auto v = waymark("validate " + file + " --config " + node.root() + "/config.json");
    EXPECT_EQ(v.code, 1) << v.out;
    EXPECT_NE(v.out.find("entry.when.value: number outside the double range"), std::string::npos) << v.out;
  }
  {
    Node node;
    write_file(node.journeys_dir() + "/t.template.json", R"({"id":"t","channel":"fax","body":"x"})");
    EXPECT_FALSE(node.start()) << "a template for an unknown channel";
    EXPECT_NE(node.logs().find("unknown channel 'fax'"), std::string::npos) << node.logs();
  }
}

}  // namespace
}  // namespace waymark::it
