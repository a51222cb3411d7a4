// The admin side of the HTTP API (PRODUCT.md §6) against the real binary:
// docs/openapi.yaml and the routes in the code agree, journey views carry
// per-step stats, and pause / resume / archive behave as documented.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(WAYMARK_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using Route = std::pair<std::string, std::string>;  // method, path template

/// (method, path) pairs of the `paths:` section of docs/openapi.yaml: a path
/// is a two-space-indented key, its operations four-space-indented keys or
/// the keys of an inline map (`/v1/page: {post: *ingest}`).
std::set<Route> documented_routes() {
  static const std::regex path_line(R"(^  (/[^:]*):\s*(.*)$)");
  static const std::regex op_line(R"(^    (get|put|post|delete|patch):)");
  static const std::regex inline_op(R"(\b(get|put|post|delete|patch):)");
  std::set<Route> out;
  std::istringstream in(read_source("docs/openapi.yaml"));
  std::string line, path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line == "paths:") {
      in_paths = true;
    } else if (in_paths && !line.empty() && line[0] != ' ') {
      in_paths = false;
    } else if (in_paths && std::regex_match(line, m, path_line)) {
      path = m[1];
      std::string rest = m[2];
      for (std::sregex_iterator i(rest.begin(), rest.end(), inline_op), e; i != e; ++i)
        out.insert({(*i)[1].str(), path});
    } else if (in_paths && std::regex_search(line, m, op_line)) {
      out.insert({m[1].str(), path});
    }
  }
  return out;
}

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST(OpenApi, EveryDocumentedRouteIsServedByARunningNode) {
  auto routes = documented_routes();
  ASSERT_GE(routes.size(), 20u) << "docs/openapi.yaml was not read";
  Node node;
  ASSERT_TRUE(node.start());
  for (auto& [method, path] : routes) {
    std::string target = std::regex_replace(path, std::regex(R"(\{[^}]*\})"), "nobody");
    auto r = node.http(upper(method), target);
    // The router answers an unknown path 404 {"error":"not found"} and a
    // known path with another method 405; handlers say more than that.
    EXPECT_NE(r.status, 405) << method << " " << path << ": " << r.describe();
    EXPECT_FALSE(r.status == 404 && r.json() == json::parse(R"({"error":"not found"})"))
      << method << " " << path << " is documented but not routed";
    EXPECT_NE(r.status, 0) << method << " " << path << ": " << r.describe();
  }
}

TEST(OpenApi, TheDocumentIsValidYaml) {
  if (std::system("python3 -c 'import yaml' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3 with PyYAML is not installed: the YAML syntax was not checked";
  std::string cmd = "python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); "
                    "sys.exit(0 if d[\"openapi\"].startswith(\"3.\") and d[\"paths\"] else 1)' " +
                    std::string(WAYMARK_SOURCE_DIR) + "/docs/openapi.yaml";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "docs/openapi.yaml does not parse as an OpenAPI 3 document";
}

TEST(OpenApi, EveryRouteInTheCodeIsDocumented) {
  auto documented = documented_routes();
  // router->add("GET", "/api/x", ...) and router.add("POST", "/v1/" + t, ...)
  static const std::regex add(R"re(add\("([A-Z]+)",\s*(?:std::string\()?"([^"]+)")re");
  size_t seen = 0;
  for (auto* file : {"actors/http_api.cpp", "actors/http_ingest.cpp", "actors/http_outcomes.cpp"}) {
    std::string src = read_source(file);
    for (std::sregex_iterator i(src.begin(), src.end(), add), e; i != e; ++i, ++seen) {
      std::string method = (*i)[1], path = (*i)[2];
      for (auto& c : method)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      bool found = false;
      for (auto& [m, p] : documented)  // a path built in a loop is matched by its prefix
        found |= m == method && (p == path || (path.back() == '/' && p.rfind(path, 0) == 0));
      EXPECT_TRUE(found) << file << ": " << method << " " << path << " is not in docs/openapi.yaml";
    }
  }
  EXPECT_GE(seen, 14u) << "the route pattern no longer matches the code";
}

bool deploy_onboarding(Node& node) {
  return node.deploy_template(fixtures::kWelcomeTemplate).status == 201 &&
         node.deploy_template(fixtures::kReminderTemplate).status == 201 &&
         node.deploy_journey(fixtures::kOnboardingJourney).status == 201;
}

json::value journey(Node& node) { return node.get("/api/journeys/onboarding").json(); }

TEST(JourneyAdmin, PauseStopsEntriesButNotCustomersInsideAndStatsCountEveryStep) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy_onboarding(node));
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  ASSERT_TRUE(c.send_line(identify("p1", {{"email", "p1@example.com"}}, "p-1")));
  ASSERT_TRUE(c.send_line(track("p1", "Signed Up", {}, "p-2")));
  ASSERT_TRUE(c.wait_ack(2)) << c.transcript();

  auto inside = journey(node);
  EXPECT_EQ(at_path(inside, "stats.steps.wait2d.active"), json::value(1)) << "one customer waits at wait2d: " << inside;
  EXPECT_EQ(at_path(inside, "stats.steps.welcome.active"), json::value(0)) << inside;

  auto paused = node.post("/api/journeys/onboarding/pause", "");
  ASSERT_EQ(paused.status, 200) << paused.describe();
  EXPECT_EQ(str_at(journey(node), "status"), "paused");
  ASSERT_TRUE(c.send_line(identify("p2", {{"email", "p2@example.com"}}, "p-3")));
  ASSERT_TRUE(c.send_line(track("p2", "Signed Up", {}, "p-4")));
  ASSERT_TRUE(c.wait_ack(4)) << c.transcript();
  EXPECT_TRUE(array_at(node.customer("p2").json(), "instances").empty()) << "a paused journey was entered";

  // p1 goes on while paused: the 2-day wait ends, the reminder is sent.
  ASSERT_EQ(node.advance_clock("3d").status, 200);
  ASSERT_TRUE(node.wait_outbox_drained());
  auto j = journey(node);
  EXPECT_EQ(at_path(j, "stats.steps.welcome.delivery.delivered"), json::value(1)) << j;
  EXPECT_EQ(at_path(j, "stats.steps.reminder.delivery.delivered"), json::value(1)) << j;
  EXPECT_EQ(at_path(j, "stats.entered"), json::value(1)) << j;
  EXPECT_EQ(at_path(j, "stats.active"), json::value(0)) << j;
  EXPECT_EQ(at_path(j, "stats.exited.completed"), json::value(1)) << j;
  EXPECT_EQ(at_path(j, "stats.steps.welcome.sent"), json::value(1)) << j;
  EXPECT_EQ(at_path(j, "stats.steps.reminder.sent"), json::value(1)) << j;
  EXPECT_EQ(at_path(j, "stats.steps.wait2d.visited"), json::value(1)) << j;
  EXPECT_EQ(at_path(j, "stats.steps.wait2d.active"), json::value(0)) << j;

  ASSERT_EQ(node.post("/api/journeys/onboarding/resume", "").status, 200);
  ASSERT_TRUE(c.send_line(track("p2", "Signed Up", {}, "p-5")));
  ASSERT_TRUE(c.wait_ack(5)) << c.transcript();
  EXPECT_EQ(array_at(node.customer("p2").json(), "instances").size(), 1u) << "resume did not reopen entries";
  EXPECT_EQ(at_path(journey(node), "stats.active"), json::value(1));
}

TEST(JourneyAdmin, ArchiveEndsTheInstancesInsideAtTheirNextTimerWithReasonArchived) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy_onboarding(node));
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  ASSERT_TRUE(c.send_line(identify("a1", {{"email", "a1@example.com"}}, "a-1")));
  ASSERT_TRUE(c.send_line(track("a1", "Signed Up", {}, "a-2")));
  ASSERT_TRUE(c.wait_ack(2)) << c.transcript();
  ASSERT_EQ(node.post("/api/journeys/onboarding/archive", "").status, 200);
  EXPECT_EQ(str_at(journey(node), "status"), "archived");

  ASSERT_EQ(node.advance_clock("3d").status, 200);
  ASSERT_TRUE(node.wait_outbox_drained());
  auto j = journey(node);
  EXPECT_EQ(at_path(j, "stats.steps.welcome.delivery.delivered"), json::value(1)) << j;
  EXPECT_EQ(at_path(j, "stats.exited.archived"), json::value(1)) << j;
  EXPECT_EQ(at_path(j, "stats.steps.reminder.sent"), json::value(nullptr)) << "an archived journey still sent";
  EXPECT_TRUE(array_at(node.customer("a1").json(), "instances").empty());
  ASSERT_TRUE(c.send_line(track("a1", "Signed Up", {}, "a-3")));
  ASSERT_TRUE(c.wait_ack(3)) << c.transcript();
  EXPECT_TRUE(array_at(node.customer("a1").json(), "instances").empty()) << "an archived journey was entered";
  EXPECT_EQ(node.post("/api/journeys/nope/pause", "").status, 404);
}

NodeOptions exposed(const std::string& listener, json::array write_keys, json::array admin_tokens) {
  NodeOptions o;
  o.config = json::object{{listener, json::object{{"listen", "0.0.0.0:0"}}},
                          {"auth", json::object{{"write_keys", write_keys}, {"admin_tokens", admin_tokens}}}};
  return o;
}

TEST(Exposure, AnExposedTcpGatewayWithoutWriteKeysDoesNotStart) {
  Node node(exposed("tcp", {}, {"t"}));
  EXPECT_FALSE(node.start());
  EXPECT_NE(node.logs().find("tcp.listen"), std::string::npos) << node.logs();
}

TEST(Exposure, AnExposedHttpApiWithWriteKeysButNoAdminTokensDoesNotStart) {
  Node node(exposed("http", {"k"}, {}));
  EXPECT_FALSE(node.start());
  EXPECT_NE(node.logs().find("auth.admin_tokens is empty"), std::string::npos) << node.logs();
}

TEST(Exposure, AnExposedNodeWithBothCredentialListsStartsAndChecksThem) {
  NodeOptions o = exposed("http", {"k"}, {"t"});
  o.config["tcp"] = json::object{{"listen", "0.0.0.0:0"}};
  o.admin_token = "t";
  Node node(o);
  ASSERT_TRUE(node.start()) << node.logs();
  EXPECT_EQ(node.get("/api/stats").status, 200);
  HttpRequest anonymous;
  anonymous.path = "/api/stats";
  EXPECT_EQ(http_request(node.http_port(), anonymous).status, 401);
}

}  // namespace
}  // namespace waymark::it
