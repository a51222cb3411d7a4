// Every route of the HTTP API x every spelling of its path x no / wrong /
// right credential, against the real binary (PRODUCT.md §8: "Every admin route
// is authorised on the route it resolves to, whatever the spelling of the
// path"). The unauthorised probes carry real payloads, so a bypass would show
// as a change: the test checks afterwards that nothing changed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

constexpr const char* kWriteKey = "wk-routes";
constexpr const char* kAdminToken = "adm-routes";

struct Probe {
  const char* method;
  const char* path;  // canonical spelling
  std::string body;
};

/// Every admin route, with a payload that would change something if it ran.
std::vector<Probe> admin_routes() {
  return {
      {"GET", "/api/journeys", ""},
      {"GET", "/api/journeys/onboarding", ""},
      {"PUT", "/api/journeys/onboarding", fixtures::kOnboardingJourney},
      {"POST", "/api/journeys/onboarding/pause", ""},
      {"POST", "/api/journeys/onboarding/resume", ""},
      {"POST", "/api/journeys/onboarding/archive", ""},
      {"GET", "/api/templates", ""},
      {"PUT", "/api/templates/reminder", fixtures::kReminderTemplate},
      {"GET", "/api/customers/victim", ""},
      {"GET", "/api/customers/victim/inbox", ""},
      {"DELETE", "/api/customers/victim", ""},
      {"POST", "/api/clock", R"({"advance":"3d"})"},
      {"GET", "/api/stats", ""},
      {"GET", "/api/cluster", ""},
  };
}

/// The spellings a router that drops empty segments resolves to the same route.
std::vector<std::string> spellings(const std::string& canonical) {
  std::string doubled;
  for (char c : canonical)
    doubled += c == '/' ? std::string("//") : std::string(1, c);
  return {canonical, "/" + canonical, "//" + canonical, canonical + "/", doubled, doubled + "//"};
}

HttpResponse call(Node& node, const std::string& method, const std::string& path, const std::string& body,
                  const std::string& authorization) {
  HttpRequest req;
  req.method = method;
  req.path = path;
  req.body = body;
  if (!authorization.empty())
    req.headers.emplace_back("Authorization", authorization);
  return http_request(node.http_port(), req);
}

NodeOptions with_auth() {
  NodeOptions o;
  o.config = json::object{{"auth", json::object{{"write_keys", json::array{kWriteKey}},
                                               {"admin_tokens", json::array{kAdminToken}}}}};
  o.admin_token = kAdminToken;
  return o;
}

/// What an unauthorised probe could have changed, read with the right token.
json::value observable_state(Node& node) {
  auto journey = node.get("/api/journeys/onboarding").json();
  return json::object{{"journey_status", at_path(journey, "status")},
                      {"journey_version", at_path(journey, "version")},
                      {"templates", node.get("/api/templates").json()},
                      {"victim", node.customer("victim").status},
                      {"intruder", node.customer("intruder").status},
                      {"clock", at_path(node.get("/api/stats").json(), "now")}};
}

class RouteAuth : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(node_.start());
    ASSERT_EQ(node_.deploy_template(fixtures::kWelcomeTemplate).status, 201);
    ASSERT_EQ(node_.deploy_template(fixtures::kReminderTemplate).status, 201);
    ASSERT_EQ(node_.deploy_journey(fixtures::kOnboardingJourney).status, 201);
    TcpClient c;
    ASSERT_TRUE(c.connect(node_.tcp_port()));
    ASSERT_TRUE(c.send_line(R"({"type":"hello","writeKey":"wk-routes"})"));
    ASSERT_TRUE(c.send_line(identify("victim", {{"email", "v@example.com"}}, "v-1")));
    ASSERT_TRUE(c.wait_ack(2)) << c.transcript();
    before_ = observable_state(node_);
    ASSERT_EQ(at_path(before_, "victim"), json::value(200)) << json::serialize(before_);
  }

  Node node_{with_auth()};
  json::value before_;
};

TEST_F(RouteAuth, EveryAdminRouteRefusesAMissingOrWrongTokenWhateverThePathSpelling) {
  int probes = 0;
  for (auto& route : admin_routes()) {
    for (auto& path : spellings(route.path)) {
      for (const std::string& auth : {std::string(), std::string("Bearer wrong-token"),
                                      std::string("Bearer ") + kAdminToken + "x", std::string("Basic d2stcm91dGVzOg==")}) {
        auto r = call(node_, route.method, path, route.body, auth);
        EXPECT_EQ(r.status, 401) << route.method << " " << path << " [" << auth << "] -> " << r.describe();
        EXPECT_EQ(r.headers["www-authenticate"], "Bearer") << route.method << " " << path;
        ++probes;
      }
    }
  }
  EXPECT_EQ(observable_state(node_), before_) << "an unauthorised probe changed something";
  auto stats = node_.get("/api/stats").json();
  EXPECT_EQ(int_at(stats, "http_unauthorized"), probes) << "every refusal is counted";
}

TEST_F(RouteAuth, EveryAdminRouteAnswersTheRightTokenWhateverThePathSpelling) {
  // Read-only routes: every spelling reaches the handler.
  for (auto& route : admin_routes()) {
    if (std::string(route.method) != "GET")
      continue;
    for (auto& path : spellings(route.path)) {
      auto r = call(node_, route.method, path, "", std::string("Bearer ") + kAdminToken);
      EXPECT_EQ(r.status, 200) << route.method << " " << path << " -> " << r.describe();
    }
  }
  // Changing routes: a doubled spelling with the token does what the canonical one does.
  auto r = call(node_, "POST", "//api//journeys//onboarding//pause", "", std::string("Bearer ") + kAdminToken);
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(at_path(node_.get("/api/journeys/onboarding").json(), "status"), json::value("paused"));
  r = call(node_, "DELETE", "///api/customers/victim/", "", std::string("Bearer ") + kAdminToken);
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(node_.customer("victim").status, 404);
}

TEST_F(RouteAuth, InternalRoutesAreOnlyForRelayedCallsAndAnswerAClientNothing) {
  // Reachable only through a cluster peer's relayed call: a client gets 401
  // without a token and 404 with the admin token, in every spelling, and
  // nothing is stored (the fit a clv-store body names is not served after).
  const std::string range = "?model=last&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z";
  const std::string fit = R"({"fitted":true,"params":{"r":1,"alpha":1,"a":1,"b":1,"p":1,"q":2,"gamma":1}})";
  const std::vector<Probe> internal = {
      {"GET", "/api/internal/attribution-partial", ""}, {"GET", "/api/internal/clv-summaries", ""},
      {"POST", "/api/internal/clv-by-journey", ""},     {"POST", "/api/internal/clv-store", fit},
      {"GET", "/api/internal/export-page", ""},         {"GET", "/api/internal/result-counters", ""},
      {"GET", "/api/internal/journey-counters", ""}};
  for (auto& route : internal)
    for (auto& path : spellings(route.path)) {
      const std::string target = path + (std::string(route.path).find("attribution") != std::string::npos ? range : "");
      EXPECT_EQ(call(node_, route.method, target, route.body, "").status, 401) << route.method << " " << target;
      auto r = call(node_, route.method, target, route.body, std::string("Bearer ") + kAdminToken);
      EXPECT_EQ(r.status, 404) << route.method << " " << target << " -> " << r.describe();
    }
  EXPECT_EQ(node_.get("/api/clv").body, R"({"fitted":false})");
}

TEST_F(RouteAuth, AnAdminPathWithAnotherMethodIsRefusedBeforeItsAllowHeaderIsShown) {
  for (auto& path : spellings("/api/customers/victim")) {
    auto r = call(node_, "PATCH", path, "{}", "");
    EXPECT_EQ(r.status, 401) << path << " -> " << r.describe();
    EXPECT_EQ(r.headers.count("allow"), 0u) << path;
  }
  auto r = call(node_, "PATCH", "/api/customers/victim", "{}", std::string("Bearer ") + kAdminToken);
  EXPECT_EQ(r.status, 405) << r.describe();
}

TEST_F(RouteAuth, EveryIngestRouteRefusesAMissingOrWrongWriteKeyBeforeReadingTheBody) {
  const std::vector<std::string> types{"track", "identify", "alias", "page", "screen", "group", "batch"};
  for (auto& type : types) {
    std::string body = type == "batch" ? R"({"batch":[{"type":"track","userId":"intruder","event":"E"}]})"
                                       : R"({"userId":"intruder","event":"E","previousId":"victim"})";
    for (auto& path : spellings("/v1/" + type)) {
      for (const std::string& auth : {std::string(), basic_auth("wrong-key"), std::string("Bearer ") + kWriteKey}) {
        auto r = call(node_, "POST", path, body, auth);
        EXPECT_EQ(r.status, 401) << path << " [" << auth << "] -> " << r.describe();
      }
      // A malformed body without a key is a 401, not a 400: the key is checked first.
      auto malformed = call(node_, "POST", path, R"({"userId":)", "");
      EXPECT_EQ(malformed.status, 401) << path << " -> " << malformed.describe();
      auto wrong_in_body = call(node_, "POST", path, R"({"userId":"intruder","event":"E","writeKey":"nope"})", "");
      EXPECT_EQ(wrong_in_body.status, 401) << path << " -> " << wrong_in_body.describe();
    }
  }
  EXPECT_EQ(observable_state(node_), before_) << "an unauthorised ingest changed something";
  // With the key, a malformed body is a 400 and a good one is stored, through any spelling.
  EXPECT_EQ(call(node_, "POST", "//v1//track", R"({"userId":)", basic_auth(kWriteKey)).status, 400);
  auto ok = call(node_, "POST", "//v1//track//", R"({"userId":"intruder","event":"E"})", basic_auth(kWriteKey));
  EXPECT_EQ(ok.status, 200) << ok.describe();
  EXPECT_EQ(node_.customer("intruder").status, 200);
}

TEST_F(RouteAuth, OpenRoutesNeedNoCredentialAndUnknownPathsAreNotFound) {
  for (auto& path : spellings("/healthz"))
    EXPECT_EQ(call(node_, "GET", path, "", "").status, 200) << path;
  EXPECT_EQ(call(node_, "GET", "/metrics", "", "").status, 200);
  EXPECT_EQ(call(node_, "GET", "/api/nothing-here", "", "").status, 404);
  EXPECT_EQ(call(node_, "GET", "/%61pi/stats", "", "").status, 404) << "an encoded segment is not decoded into a route";
}

}  // namespace
}  // namespace waymark::it
