// Roles on the admin API (PRODUCT.md §11) against the real binary: every admin
// route x every role. A token whose role is below the route's gets 403
// {"error","role_needed"}, the handler does not run (nothing changes, no audit
// entry), and the refusal is counted; a role at or above it is let through.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

const char* const kRoles[] = {"viewer", "editor", "approver", "admin"};

json::array role_tokens() {
  return json::array{
    json::object{{"token", "tok-viewer"}, {"name", "vera"}, {"role", "viewer"}},
    json::object{{"token", "tok-editor"}, {"name", "ed"}, {"role", "editor"}, {"teams", json::array{"email"}}},
    json::object{{"token", "tok-approver"}, {"name", "april"}, {"role", "approver"}},
    "tok-admin",  // a bare string: an admin named "admin"
  };
}

NodeOptions with_roles(bool require_approval = false) {
  NodeOptions o;
  o.config = json::object{
    {"auth", json::object{{"admin_tokens", role_tokens()}, {"require_approval", require_approval}}}};
  o.admin_token = "tok-admin";
  return o;
}

HttpResponse as(Node& node, const std::string& role, const std::string& method, const std::string& path,
                const std::string& body = "") {
  HttpRequest req;
  req.method = method;
  req.path = path;
  req.body = body;
  req.headers.emplace_back("Authorization", "Bearer tok-" + role);
  return http_request(node.http_port(), req);
}

struct Route {
  const char* method;
  const char* path;
  std::string body;
  int needs;  // index into kRoles
};

/// Every admin route, with a payload that would change something if it ran.
std::vector<Route> admin_routes() {
  return {
    {"GET", "/api/journeys", "", 0},
    {"GET", "/api/journeys/onboarding", "", 0},
    {"GET", "/api/journeys/onboarding/versions", "", 0},
    {"GET", "/api/journeys/onboarding/versions/1", "", 0},
    {"GET", "/api/templates", "", 0},
    {"GET", "/api/customers/victim", "", 0},
    {"GET", "/api/customers/victim/inbox", "", 0},
    {"GET", "/api/stats", "", 0},
    {"GET", "/api/audit", "", 0},
    {"PUT", "/api/journeys/onboarding", fixtures::kOnboardingJourney, 1},
    {"PUT", "/api/templates/reminder", fixtures::kReminderTemplate, 1},
    {"POST", "/api/journeys/onboarding/versions/2/approve", "", 2},
    {"POST", "/api/journeys/onboarding/pause", "", 2},
    {"POST", "/api/journeys/onboarding/resume", "", 2},
    {"POST", "/api/journeys/onboarding/archive", "", 2},
    {"DELETE", "/api/customers/victim", "", 3},
    {"POST", "/api/clock", R"({"advance":"3d"})", 3},
    {"GET", "/api/cluster", "", 3},
  };
}

/// What a refused request could have changed, read as the admin.
json::value observable_state(Node& node) {
  auto journey = node.get("/api/journeys/onboarding").json();
  return json::object{{"status", at_path(journey, "status")},
                      {"version", at_path(journey, "version")},
                      {"versions", node.get("/api/journeys/onboarding/versions").body},
                      {"templates", node.get("/api/templates").json()},
                      {"victim", node.customer("victim").status},
                      {"clock", at_path(node.get("/api/stats").json(), "now")},
                      {"audit", node.get("/api/audit?limit=1000").json()}};
}

class OpsRoles : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(node_.start());
    ASSERT_EQ(node_.deploy_template(fixtures::kWelcomeTemplate).status, 201);
    ASSERT_EQ(node_.deploy_template(fixtures::kReminderTemplate).status, 201);
    ASSERT_EQ(node_.deploy_journey(fixtures::kOnboardingJourney).status, 201);
    ASSERT_EQ(node_.post("/v1/identify", identify("victim", {{"email", "v@example.com"}}, "v-1")).status, 200);
    before_ = observable_state(node_);
  }
  Node node_{with_roles(true)};
  json::value before_;
};

TEST_F(OpsRoles, EveryAdminRouteRefusesEachRoleBelowItsOwnWith403NamingTheRoleAndChangesNothing) {
  int refused = 0;
  for (auto& route : admin_routes())
    for (int role = 0; role < route.needs; ++role) {
      auto r = as(node_, kRoles[role], route.method, route.path, route.body);
      EXPECT_EQ(r.status, 403) << kRoles[role] << " " << route.method << " " << route.path << " -> " << r.describe();
      auto body = r.json();
      EXPECT_EQ(at_path(body, "role_needed"), json::value(kRoles[route.needs])) << route.path << " " << r.body;
      EXPECT_TRUE(at_path(body, "error").is_string()) << r.body;
      ++refused;
    }
  // 0 viewer routes; editor routes refuse 1 role, approver 2, admin 3: 2*1 + 4*2 + 3*3.
  EXPECT_EQ(refused, 19);
  EXPECT_EQ(observable_state(node_), before_) << "a refused request changed something";
  auto stats = node_.get("/api/stats").json();
  EXPECT_EQ(int_at(stats, "http_forbidden"), 19) << "every refusal is counted";
  EXPECT_EQ(int_at(stats, "http_unauthorized"), 0) << "a known token with too little role is no 401";
  EXPECT_NE(node_.get("/metrics").body.find("waymark_http_forbidden_total 19"), std::string::npos);
}

TEST_F(OpsRoles, EveryReadRouteAnswersEveryRoleAndAWrongTokenStays401) {
  for (auto& route : admin_routes()) {
    for (int role = route.needs; role < 4 && route.needs == 0; ++role) {
      auto r = as(node_, kRoles[role], route.method, route.path);
      EXPECT_EQ(r.status, 200) << kRoles[role] << " " << route.path << " -> " << r.describe();
    }
    auto wrong = as(node_, "nobody", route.method, route.path, route.body);
    EXPECT_EQ(wrong.status, 401) << route.path << " -> " << wrong.describe();
  }
  EXPECT_EQ(observable_state(node_), before_);
}

TEST_F(OpsRoles, EachChangingRouteRunsForTheRoleItNeedsAsItsPerson) {
  // editor: a draft (require_approval) named after ed
  auto draft = as(node_, "editor", "PUT", "/api/journeys/onboarding", fixtures::kOnboardingJourney);
  ASSERT_EQ(draft.status, 201) << draft.describe();
  EXPECT_EQ(at_path(draft.json(), "version"), json::value(2));
  EXPECT_EQ(at_path(draft.json(), "status"), json::value("draft"));
  // approver: approve it, pause, resume, archive
  auto ok = as(node_, "approver", "POST", "/api/journeys/onboarding/versions/2/approve");
  EXPECT_EQ(ok.status, 200) << ok.describe();
  for (const char* verb : {"pause", "resume", "archive"})
    EXPECT_EQ(as(node_, "approver", "POST", std::string("/api/journeys/onboarding/") + verb).status, 200) << verb;
  // admin: clock, erase, cluster
  EXPECT_EQ(as(node_, "admin", "POST", "/api/clock", R"({"advance":"1h"})").status, 200);
  EXPECT_EQ(as(node_, "admin", "DELETE", "/api/customers/victim").status, 200);
  EXPECT_EQ(as(node_, "admin", "GET", "/api/cluster").status, 200);
  std::vector<std::string> who;
  for (auto& e : array_at(node_.get("/api/audit?limit=1000").json(), "entries"))
    who.push_back(str_at(e, "action") + ":" + str_at(e, "who") + ":" + str_at(e, "role"));
  // The setup's three deploys by the bare token (admin), then the calls above.
  EXPECT_EQ(who, (std::vector<std::string>{"template:admin:admin", "template:admin:admin", "draft:admin:admin",
                                           "draft:ed:editor", "approve:april:approver", "pause:april:approver",
                                           "resume:april:approver", "archive:april:approver", "clock:admin:admin",
                                           "erase:admin:admin"}));
}

TEST(OpsRolesTeams, ATemplateOfATeamIsChangedOnlyByThatTeamsEditorsOrAnAdmin) {
  NodeOptions o = with_roles();
  o.config["auth"].as_object()["admin_tokens"].as_array().push_back(
    json::object{{"token", "tok-smsed"}, {"name", "sam"}, {"role", "editor"}, {"teams", json::array{"sms"}}});
  Node node{o};
  ASSERT_TRUE(node.start());
  const std::string mail = R"({"id":"promo","channel":"email","team":"email","subject":"S","body":"v1"})";
  const std::string mail2 = R"({"id":"promo","channel":"email","team":"email","subject":"S","body":"v2"})";
  const std::string stolen = R"({"id":"promo","channel":"email","team":"sms","subject":"S","body":"v3"})";
  const std::string open = R"({"id":"plain","channel":"email","subject":"S","body":"anyone"})";
  EXPECT_EQ(as(node, "editor", "PUT", "/api/templates/promo", mail).status, 201) << "ed is of team email";
  auto refused = as(node, "smsed", "PUT", "/api/templates/promo", mail2);
  EXPECT_EQ(refused.status, 403) << refused.describe();
  EXPECT_EQ(at_path(refused.json(), "role_needed"), json::value("editor"));
  EXPECT_EQ(at_path(refused.json(), "team_needed"), json::value("email"));
  EXPECT_EQ(as(node, "editor", "PUT", "/api/templates/promo", stolen).status, 403)
    << "moving it to a team ed is not in is refused too";
  EXPECT_EQ(as(node, "approver", "PUT", "/api/templates/promo", mail2).status, 403) << "april is of no team";
  EXPECT_EQ(as(node, "smsed", "PUT", "/api/templates/plain", open).status, 201) << "no team: any editor";
  EXPECT_EQ(as(node, "editor", "PUT", "/api/templates/plain", open).status, 201);
  EXPECT_EQ(as(node, "admin", "PUT", "/api/templates/promo", mail2).status, 201) << "admins change any";
  std::map<std::string, std::string> bodies;
  for (auto& t : array_at(node.get("/api/templates").json(), "templates"))
    bodies[str_at(t, "id")] = str_at(t, "body");
  EXPECT_EQ(bodies["promo"], "v2");
  EXPECT_EQ(int_at(node.get("/api/stats").json(), "http_forbidden"), 3);
}

TEST(OpsRolesNoApproval, AnEditorsDeployGoesLiveAtOnceWithoutRequireApproval) {
  Node node{with_roles(false)};
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node.deploy_template(fixtures::kReminderTemplate).status, 201);
  auto r = as(node, "editor", "PUT", "/api/journeys/onboarding", fixtures::kOnboardingJourney);
  ASSERT_EQ(r.status, 201) << r.describe();
  EXPECT_EQ(at_path(r.json(), "status"), json::value("live"));
  auto versions = node.get("/api/journeys/onboarding/versions").json();
  EXPECT_EQ(at_path(versions, "live"), json::value(1));
  EXPECT_EQ(str_at(array_at(versions, "versions").at(0), "author"), "ed");
  ASSERT_EQ(node.post("/v1/track", track("c1", "Signed Up")).status, 200);
  auto c = node.customer("c1").json();
  ASSERT_EQ(array_at(c, "instances").size(), 1u) << json::serialize(c);
}

}  // namespace
}  // namespace waymark::it
