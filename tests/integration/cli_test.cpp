// The CLI of PRODUCT.md §2 against a running node: deploy, validate, journeys,
// journey, customer (tables and --json), send with bad lines; exit codes
// 0 (ok), 1 (reported error), 2 (bad usage).
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

namespace waymark::it {
namespace {
namespace json = boost::json;


std::string write_file(const Node& node, const std::string& name, const std::string& text) {
  std::string path = node.root() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Cli, DeployValidateListShowAndSendAgainstARunningNode) {
  Node node;
  ASSERT_TRUE(node.start());
  std::string url = " --url http://127.0.0.1:" + std::to_string(node.http_port());
  auto welcome = write_file(node, "welcome.json", fixtures::kWelcomeTemplate);
  auto reminder = write_file(node, "reminder.json", fixtures::kReminderTemplate);
  auto journey = write_file(node, "onboarding.json", fixtures::kOnboardingJourney);

  // validate: offline, path-precise errors, exit 1.
  auto broken = write_file(node, "broken.json", R"({"id":"b","name":"B","entry":{"event":"X"},"start":"s",
    "steps":{"s":{"type":"wait","duration":"2 days","next":"nowhere"}}})");
  auto v = waymark("validate " + broken);
  EXPECT_EQ(v.code, 1) << v.out;
  EXPECT_NE(v.out.find("steps.s.duration"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("steps.s.next"), std::string::npos) << v.out;
  EXPECT_EQ(waymark("validate " + welcome).code, 0);

  for (auto& f : {welcome, reminder, journey}) {
    auto d = waymark("deploy " + f + url);
    EXPECT_EQ(d.code, 0) << d.out;
  }
  auto d2 = waymark("deploy " + broken + url);
  EXPECT_EQ(d2.code, 1) << d2.out;

  auto list = waymark("journeys" + url);
  EXPECT_EQ(list.code, 0) << list.out;
  EXPECT_NE(list.out.find("onboarding"), std::string::npos) << list.out;

  // send: a file with two bad lines; the good ones are acked, the summary names the bad.
  auto events = write_file(node, "events.ndjson",
                           identify("c1", {{"email", "c1@example.com"}}, "c-1") + "\n" + "{not json\n" +
                             track("c1", "Signed Up", {}, "c-2") + "\n" +
                             R"({"type":"track","userId":"c1"})" + "\n");
  auto s = waymark("send " + events + " --port " + std::to_string(node.tcp_port()));
  EXPECT_EQ(s.code, 1) << "nacked lines must make send fail: " << s.out;
  EXPECT_NE(s.out.find("acked 2"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("nacked 2"), std::string::npos) << s.out;

  auto show = waymark("journey onboarding" + url);
  EXPECT_EQ(show.code, 0) << show.out;
  EXPECT_NE(show.out.find("welcome"), std::string::npos) << show.out;

  auto cj = waymark("customer c1 --json" + url);
  ASSERT_EQ(cj.code, 0) << cj.out;
  auto parsed = parse_json(cj.out);
  EXPECT_EQ(at_path(parsed, "profile.traits.email"), json::value("c1@example.com")) << cj.out;
  EXPECT_EQ(waymark("customer nobody" + url).code, 1);
  EXPECT_EQ(waymark("customer").code, 2) << "a missing argument is bad usage";
}

TEST(Cli, ClientCommandsCarryTheAdminTokenAndSendCarriesTheWriteKey) {
  NodeOptions o;
  o.config = json::object{{"auth", json::object{{"write_keys", json::array{"cli-wk"}},
                                               {"admin_tokens", json::array{"cli-adm"}}}}};
  o.admin_token = "cli-adm";
  Node node(o);
  ASSERT_TRUE(node.start());
  std::string url = " --url http://127.0.0.1:" + std::to_string(node.http_port());
  auto denied = waymark("journeys" + url);
  EXPECT_EQ(denied.code, 1) << denied.out;
  EXPECT_NE(denied.out.find("401"), std::string::npos) << denied.out;
  EXPECT_EQ(waymark("journeys" + url + " --token wrong").code, 1);
  auto listed = waymark("journeys --json" + url + " --token cli-adm");
  EXPECT_EQ(listed.code, 0) << listed.out;
  EXPECT_TRUE(parse_json(listed.out).is_object()) << listed.out;

  auto events = write_file(node, "events.ndjson", identify("k1", {{"plan", "pro"}}, "k-1") + "\n");
  std::string port = " --port " + std::to_string(node.tcp_port());
  auto refused = waymark("send " + events + port + " --write-key guess");
  EXPECT_EQ(refused.code, 1) << refused.out;
  auto sent = waymark("send " + events + port + " --write-key cli-wk");
  EXPECT_EQ(sent.code, 0) << sent.out;
  EXPECT_NE(sent.out.find("acked 1"), std::string::npos) << sent.out;
  EXPECT_EQ(node.customer("k1").status, 200);
  EXPECT_EQ(waymark("send --port 0").code, 2) << "an out-of-range port is bad usage";
}

}  // namespace
}  // namespace waymark::it
