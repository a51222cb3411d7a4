// Drafts and approval (PRODUCT.md §11, auth.require_approval) and the audit
// log, against the real binary: a deploy is a draft that never runs, another
// person approves it, versions are listed with a step diff, and drafts,
// approvals and audit entries survive kill -9 right after the answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "support/cli.hpp"
#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/temp_dir.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

NodeOptions approval_node() {
  NodeOptions o;
  o.config = json::object{
    {"auth", json::object{{"require_approval", true},
                          {"admin_tokens",
                           json::array{
                             json::object{{"token", "tok-vera"}, {"name", "vera"}, {"role", "viewer"}},
                             json::object{{"token", "tok-ed"}, {"name", "ed"}, {"role", "editor"}},
                             json::object{{"token", "tok-april"}, {"name", "april"}, {"role", "approver"}},
                             json::object{{"token", "tok-root"}, {"name", "root"}, {"role", "admin"}},
                           }}}}};
  o.admin_token = "tok-root";
  return o;
}

HttpResponse as(Node& node, const std::string& who, const std::string& method, const std::string& path,
                const std::string& body = "") {
  HttpRequest req;
  req.method = method;
  req.path = path;
  req.body = body;
  req.headers.emplace_back("Authorization", "Bearer tok-" + who);
  return http_request(node.http_port(), req);
}

/// The onboarding journey with its wait changed to `wait` and, when `extra`,
/// a step "survey" added after the reminder.
std::string onboarding(const std::string& wait, bool extra) {
  auto j = json::parse(fixtures::kOnboardingJourney).as_object();
  auto& steps = j["steps"].as_object();
  steps["wait2d"].as_object()["duration"] = wait;
  if (extra) {
    steps["reminder"].as_object()["next"] = "survey";
    steps["survey"] = json::object{{"type", "wait"}, {"duration", "1d"}, {"next", "done"}};
  }
  return json::serialize(j);
}

/// "version:status:author:approver" for each version.
std::vector<std::string> versions(Node& node) {
  std::vector<std::string> out;
  for (auto& v : array_at(node.get("/api/journeys/onboarding/versions").json(), "versions"))
    out.push_back(std::to_string(int_at(v, "version")) + ":" + str_at(v, "status") + ":" + str_at(v, "author") + ":" +
                  str_at(v, "approver"));
  return out;
}

/// The journey versions the customer's instances run ("" when none).
std::string instance_versions(Node& node, const std::string& customer) {
  std::string out;
  for (auto& in : array_at(node.customer(customer).json(), "instances"))
    out += std::to_string(int_at(in, "version"));
  return out;
}

class OpsApproval : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(node_.start());
    ASSERT_EQ(node_.deploy_template(fixtures::kWelcomeTemplate).status, 201);
    ASSERT_EQ(node_.deploy_template(fixtures::kReminderTemplate).status, 201);
  }
  Node node_{approval_node()};
};

TEST_F(OpsApproval, ADraftNeverRunsUntilAnotherPersonApprovesItAndAllOfItSurvivesKill9) {
  auto d1 = as(node_, "ed", "PUT", "/api/journeys/onboarding", onboarding("2d", false));
  ASSERT_EQ(d1.status, 201) << d1.describe();
  EXPECT_EQ(d1.json(), json::parse(R"({"id":"onboarding","version":1,"status":"draft"})"));
  EXPECT_EQ(versions(node_), std::vector<std::string>{"1:draft:ed:"});
  // A draft never runs: the customer enters nothing.
  ASSERT_EQ(node_.post("/v1/track", track("c1", "Signed Up")).status, 200);
  EXPECT_EQ(instance_versions(node_, "c1"), "");
  // The author may not approve (an editor is no approver anyway); an approver may.
  auto own = as(node_, "ed", "POST", "/api/journeys/onboarding/versions/1/approve");
  EXPECT_EQ(own.status, 403);
  EXPECT_EQ(at_path(own.json(), "role_needed"), json::value("approver"));
  auto ok = as(node_, "april", "POST", "/api/journeys/onboarding/versions/1/approve");
  ASSERT_EQ(ok.status, 200) << ok.describe();
  EXPECT_EQ(versions(node_), std::vector<std::string>{"1:live:ed:april"});
  ASSERT_EQ(node_.post("/v1/track", track("c2", "Signed Up")).status, 200);
  EXPECT_EQ(instance_versions(node_, "c2"), "1");

  // Version 2: drafted by april, who may not approve her own; nor may root his own (v3).
  ASSERT_EQ(as(node_, "april", "PUT", "/api/journeys/onboarding", onboarding("3d", true)).status, 201);
  auto self = as(node_, "april", "POST", "/api/journeys/onboarding/versions/2/approve");
  EXPECT_EQ(self.status, 403) << self.describe();
  EXPECT_NE(str_at(self.json(), "error").find("own draft"), std::string::npos) << self.body;
  ASSERT_EQ(as(node_, "root", "PUT", "/api/journeys/onboarding", onboarding("4d", false)).status, 201);
  EXPECT_EQ(as(node_, "root", "POST", "/api/journeys/onboarding/versions/3/approve").status, 403)
    << "admins included";
  EXPECT_EQ(versions(node_), (std::vector<std::string>{"1:live:ed:april", "2:draft:april:", "3:draft:root:"}));
  // Version 2 against the live version 1: the wait changed, the survey step is new.
  auto v2 = as(node_, "vera", "GET", "/api/journeys/onboarding/versions/2").json();
  EXPECT_EQ(at_path(v2, "diff"),
            json::parse(R"({"added":["survey"],"removed":[],"changed":["reminder","wait2d"],"fields_changed":[]})"));
  EXPECT_EQ(at_path(v2, "live"), json::value(1));
  EXPECT_EQ(at_path(v2, "definition.steps.wait2d.duration"), json::value("3d"));
  ASSERT_EQ(node_.post("/v1/track", track("c3", "Signed Up")).status, 200);
  EXPECT_EQ(instance_versions(node_, "c3"), "1") << "drafts 2 and 3 never run";

  // root approves april's draft; version 3 is then passed over: never live, no longer approvable.
  ASSERT_EQ(as(node_, "root", "POST", "/api/journeys/onboarding/versions/2/approve").status, 200);
  auto late = as(node_, "april", "POST", "/api/journeys/onboarding/versions/3/approve");
  EXPECT_EQ(late.status, 200) << "3 is newer than the live 2: april (not its author) may approve it";
  auto again = as(node_, "april", "POST", "/api/journeys/onboarding/versions/2/approve");
  EXPECT_EQ(again.status, 409) << again.describe();
  EXPECT_EQ(as(node_, "april", "POST", "/api/journeys/onboarding/versions/9/approve").status, 404);
  EXPECT_EQ(as(node_, "april", "POST", "/api/journeys/onboarding/versions/x/approve").status, 400);
  EXPECT_EQ(as(node_, "april", "POST", "/api/journeys/nope/versions/1/approve").status, 404);
  const std::vector<std::string> expected{"1:superseded:ed:april", "2:superseded:april:root", "3:live:root:april"};
  EXPECT_EQ(versions(node_), expected);

  // A fourth draft is written and the node is killed right after the answer.
  ASSERT_EQ(as(node_, "ed", "PUT", "/api/journeys/onboarding", onboarding("5d", false)).status, 201);
  node_.kill9();
  ASSERT_TRUE(node_.restart());
  auto after = expected;
  after.push_back("4:draft:ed:");
  EXPECT_EQ(versions(node_), after);
  ASSERT_EQ(node_.post("/v1/track", track("c4", "Signed Up")).status, 200);
  EXPECT_EQ(instance_versions(node_, "c4"), "3") << "after a restart the live version is still 3, the draft unrun";
  EXPECT_EQ(at_path(node_.get("/api/journeys/onboarding").json(), "version"), json::value(3));
}

TEST_F(OpsApproval, AnInvalidDraftIsRefusedAsADeployIsAndStoresNothing) {
  auto bad = as(node_, "ed", "PUT", "/api/journeys/onboarding",
                R"({"id":"onboarding","entry":{"event":"E"},"start":"x","steps":{"x":{"type":"send","channel":"email","template":"nope"}}})");
  EXPECT_EQ(bad.status, 422) << bad.describe();
  EXPECT_EQ(node_.get("/api/journeys/onboarding").status, 404);
  EXPECT_EQ(node_.get("/api/journeys/onboarding/versions").status, 404);
  EXPECT_EQ(array_at(node_.get("/api/audit?journey=onboarding").json(), "entries").size(), 0u);
}

// ---- the audit log ----------------------------------------------------------------

/// "action who role object before after" per entry.
std::vector<std::string> audit_lines(Node& node, const std::string& query = "") {
  std::vector<std::string> out;
  auto r = node.get("/api/audit" + query);
  for (auto& e : array_at(r.json(), "entries"))
    out.push_back(str_at(e, "action") + " " + str_at(e, "who") + " " + str_at(e, "role") + " " + str_at(e, "object") +
                  " " + json::serialize(at_path(e, "before")) + " " + json::serialize(at_path(e, "after")));
  return out;
}

TEST(OpsAudit, EveryChangeIsRecordedWithWhoWhenAndBeforeAfterAndSurvivesKill9) {
  NodeOptions o = approval_node();
  Node node{o};
  // Seeding from journeys_dir is recorded with who "seed".
  ASSERT_TRUE(write_file(node.journeys_dir() + "/welcome.json", fixtures::kWelcomeTemplate));
  ASSERT_TRUE(write_file(node.journeys_dir() + "/reminder.json", fixtures::kReminderTemplate));
  ASSERT_TRUE(write_file(node.journeys_dir() + "/onboarding.json", fixtures::kOnboardingJourney));
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.post("/api/clock", R"({"set":"2030-01-01T00:00:00Z"})").status, 200);
  ASSERT_EQ(as(node, "ed", "PUT", "/api/journeys/onboarding", onboarding("3d", false)).status, 201);
  ASSERT_EQ(as(node, "april", "POST", "/api/journeys/onboarding/versions/2/approve").status, 200);
  ASSERT_EQ(node.post("/api/clock", R"({"advance":"1d"})").status, 200);
  for (const char* verb : {"pause", "resume", "archive"})
    ASSERT_EQ(as(node, "april", "POST", std::string("/api/journeys/onboarding/") + verb).status, 200);
  ASSERT_EQ(as(node, "ed", "PUT", "/api/templates/welcome",
               R"({"id":"welcome","channel":"email","subject":"Hi","body":"new"})").status, 201);
  ASSERT_EQ(node.post("/v1/identify", identify("gone", {{"email", "secret@example.com"}})).status, 200);
  auto erased = as(node, "root", "DELETE", "/api/customers/gone");
  ASSERT_EQ(erased.status, 200) << erased.describe();
  node.kill9();  // right after the last answer
  ASSERT_TRUE(node.restart());

  auto lines = audit_lines(node);
  ASSERT_EQ(lines.size(), 12u);
  // The seed's `before`/`after` for templates are their sources: checked by kind only.
  EXPECT_EQ(lines[0].substr(0, 36), "template seed admin template:reminde");
  EXPECT_EQ(lines[1].substr(0, 35), "template seed admin template:welcom");
  EXPECT_EQ(lines[2], "deploy seed admin journey:onboarding null 1");
  EXPECT_EQ(lines[3].rfind("clock root admin clock \"", 0), 0u) << lines[3];
  EXPECT_EQ(lines[4], "draft ed editor journey:onboarding 1 2");
  EXPECT_EQ(lines[5], "approve april approver journey:onboarding 1 2");
  EXPECT_EQ(lines[6], "clock root admin clock \"2030-01-01T00:00:00.000Z\" \"2030-01-02T00:00:00.000Z\"");
  EXPECT_EQ(lines[7], "pause april approver journey:onboarding \"active\" \"paused\"");
  EXPECT_EQ(lines[8], "resume april approver journey:onboarding \"paused\" \"active\"");
  EXPECT_EQ(lines[9], "archive april approver journey:onboarding \"active\" \"archived\"");
  EXPECT_EQ(lines[10].rfind("template ed editor template:welcome {", 0), 0u) << lines[10];
  EXPECT_EQ(lines[11], "erase root admin customer:gone null null");
  // The erasure names the customer and nothing of the profile.
  EXPECT_EQ(node.get("/api/audit").body.find("secret@example.com"), std::string::npos);
  // `at` is on the node's (manual) clock.
  auto entries = array_at(node.get("/api/audit").json(), "entries");
  EXPECT_EQ(str_at(entries[4], "at"), "2030-01-01T00:00:00.000Z");
  EXPECT_EQ(str_at(entries[11], "at"), "2030-01-02T00:00:00.000Z");

  // Filters: a journey; a time range (inclusive); both.
  EXPECT_EQ(audit_lines(node, "?journey=onboarding").size(), 6u);
  EXPECT_EQ(audit_lines(node, "?from=2030-01-01T12:00:00Z").size(), 6u) << "the second clock entry onwards";
  EXPECT_EQ(audit_lines(node, "?from=2030-01-01T00:00:00Z&to=2030-01-01T00:00:00Z").size(), 3u)
    << "the clock set, the draft and the approval";
  EXPECT_EQ(audit_lines(node, "?journey=onboarding&from=2030-01-02T00:00:00Z").size(), 3u);
  for (const char* bad : {"?from=soon", "?to=2030-02-30T00:00:00Z", "?limit=0", "?limit=5000", "?x=1", "?after=zz"}) {
    auto r = node.get(std::string("/api/audit") + bad);
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.describe();
  }
  // Paging: 5 + 5 + 2, each page's "next" continues after it.
  std::vector<std::string> paged;
  std::string query = "?limit=5";
  for (int page = 0; page < 4; ++page) {
    auto r = node.get("/api/audit" + query).json();
    for (auto& e : array_at(r, "entries"))
      paged.push_back(str_at(e, "action") + " " + str_at(e, "at"));
    if (at_path(r, "next").is_null())
      break;
    query = "?limit=5&after=" + str_at(r, "next");
  }
  ASSERT_EQ(paged.size(), 12u);
  EXPECT_EQ(paged[11], "erase 2030-01-02T00:00:00.000Z");
}

TEST(OpsCli, WaymarkApproveAndWaymarkAuditUseTheTokenGiven) {
  Node node{approval_node()};
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node.deploy_template(fixtures::kReminderTemplate).status, 201);
  ASSERT_EQ(as(node, "ed", "PUT", "/api/journeys/onboarding", fixtures::kOnboardingJourney).status, 201);
  const std::string url = " --url http://127.0.0.1:" + std::to_string(node.http_port());
  auto own = waymark("approve onboarding 1 --token tok-ed" + url);
  EXPECT_EQ(own.code, 1) << own.out;
  EXPECT_NE(own.out.find("HTTP 403"), std::string::npos) << own.out;
  EXPECT_NE(own.out.find("needs the approver role"), std::string::npos) << own.out;
  auto ok = waymark("approve onboarding 1 --token tok-april" + url);
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("journey onboarding version 1 is live"), std::string::npos) << ok.out;
  EXPECT_EQ(at_path(node.get("/api/journeys/onboarding/versions").json(), "live"), json::value(1));
  EXPECT_EQ(waymark("approve onboarding x --token tok-april" + url).code, 2) << "bad usage";

  auto table = waymark("audit --journey onboarding --token tok-vera" + url);
  EXPECT_EQ(table.code, 0) << table.out;
  EXPECT_NE(table.out.find("draft"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("april"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("- -> 1"), std::string::npos) << "before (none live) -> after (version 1): " << table.out;
  // --json: one entry per line; the log holds 4 (two templates, the draft, the approval), 3 asked.
  auto lines = waymark("audit --json --limit 3 --token tok-vera" + url);
  EXPECT_EQ(lines.code, 0) << lines.out;
  EXPECT_EQ(std::count(lines.out.begin(), lines.out.end(), '\n'), 3) << lines.out;
  auto bad = waymark("audit --from soon --token tok-vera" + url);
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("from"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace waymark::it
