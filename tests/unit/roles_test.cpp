// Roles, teams, approval and the audit query (PRODUCT.md §11): the pure rules,
// the config that names tokens, and the router applying a route's role.
#include <gtest/gtest.h>

#include <string>

#include "http/router.hpp"
#include "waymark/config.hpp"
#include "waymark/ops.hpp"
#include "waymark/roles.hpp"

namespace waymark {
namespace {
namespace json = boost::json;

Caller person(std::string name, Role role, std::vector<std::string> teams = {}) {
  return Caller{std::move(name), role, std::move(teams)};
}

TEST(Roles, AreCumulativeViewerEditorApproverAdmin) {
  const Role all[] = {Role::viewer, Role::editor, Role::approver, Role::admin};
  for (int have = 0; have < 4; ++have)
    for (int need = 0; need < 4; ++need)
      EXPECT_EQ(has_role(person("p", all[have]), all[need]), have >= need) << have << " vs " << need;
  for (const char* name : {"viewer", "editor", "approver", "admin"})
    EXPECT_STREQ(to_string(*parse_role(name)), name);
  EXPECT_FALSE(parse_role("Admin"));
  EXPECT_FALSE(parse_role("owner"));
}

TEST(Roles, ATokenStandsForItsPersonAndAnUnknownTokenForNobody) {
  std::vector<AdminToken> tokens{{"t-ana", "ana", Role::editor, {"email"}}, {"t-bo", "bo", Role::approver, {}}};
  auto ana = caller_for("t-ana", tokens);
  ASSERT_TRUE(ana);
  EXPECT_EQ(ana->name, "ana");
  EXPECT_EQ(ana->role, Role::editor);
  EXPECT_EQ(ana->teams, std::vector<std::string>{"email"});
  EXPECT_EQ(caller_for("t-bo", tokens)->name, "bo");
  EXPECT_FALSE(caller_for("t-an", tokens));
  EXPECT_FALSE(caller_for("t-ana ", tokens));
  EXPECT_FALSE(caller_for("", tokens));
}

TEST(Roles, ATemplateWithATeamIsChangedOnlyByItsEditorsOrAdmins) {
  EXPECT_EQ(template_refusal(person("e", Role::editor, {"email"}), "email"), "");
  EXPECT_EQ(template_refusal(person("e", Role::editor, {"sms", "email"}), "email"), "");
  EXPECT_NE(template_refusal(person("e", Role::editor, {"sms"}), "email"), "");
  EXPECT_NE(template_refusal(person("a", Role::approver, {}), "email"), "") << "an approver of no team is no editor of it";
  EXPECT_EQ(template_refusal(person("root", Role::admin, {}), "email"), "");
  // no team: any editor
  EXPECT_EQ(template_refusal(person("e", Role::editor, {}), ""), "");
  EXPECT_EQ(template_refusal(person("e", Role::editor, {"sms"}), ""), "");
  EXPECT_NE(template_refusal(person("v", Role::viewer, {"email"}), ""), "");
  EXPECT_NE(template_refusal(person("v", Role::viewer, {"email"}), "email"), "");
}

TEST(Roles, NobodyApprovesTheirOwnDraftAdminsIncluded) {
  EXPECT_EQ(approval_refusal(person("bo", Role::approver), "ana"), "");
  EXPECT_EQ(approval_refusal(person("root", Role::admin), "ana"), "");
  EXPECT_NE(approval_refusal(person("ana", Role::approver), "ana"), "");
  EXPECT_NE(approval_refusal(person("root", Role::admin), "root"), "");
  EXPECT_NE(approval_refusal(person("ed", Role::editor), "ana"), "") << "an editor is no approver";
}

// ---- config -------------------------------------------------------------------

std::string error_of(const std::string& text) {
  auto c = config_from_json(json::parse(text));
  return c ? std::string("ok") : c.error().message;
}

TEST(RolesConfig, ObjectsNameAPersonARoleAndTeamsAndBareStringsStayAdmins) {
  auto c = config_from_json(json::parse(R"({"auth":{"require_approval":true,"admin_tokens":[
      "old-root", {"token":"t1","name":"Ana Lopez","role":"editor","teams":["email","sms"]},
      {"token":"t2","name":"bo","role":"viewer"}]}})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->require_approval);
  ASSERT_EQ(c->admins.size(), 3u);
  EXPECT_EQ(c->admins[0].name, "admin");
  EXPECT_EQ(c->admins[0].role, Role::admin);
  EXPECT_EQ(c->admins[1].name, "Ana Lopez");
  EXPECT_EQ(c->admins[1].role, Role::editor);
  EXPECT_EQ(c->admins[1].teams, (std::vector<std::string>{"email", "sms"}));
  EXPECT_EQ(c->admins[2].role, Role::viewer);
  EXPECT_TRUE(c->admins[2].teams.empty());
  EXPECT_EQ(c->admin_tokens, (std::vector<std::string>{"old-root", "t1", "t2"}));
  EXPECT_FALSE(config_from_json(json::parse("{}"))->require_approval) << "default false";
}

TEST(RolesConfig, BadEntriesAreRefusedNamingTheEntry) {
  struct Case {
    const char* tokens;
    const char* mention;
  } cases[] = {
    {R"([{"token":"t","name":"a","role":"owner"}])", "auth.admin_tokens[0].role"},
    {R"([{"token":"t","name":"a"}])", "auth.admin_tokens[0].role"},
    {R"([{"token":"","name":"a","role":"admin"}])", "auth.admin_tokens[0].token"},
    {R"([{"name":"a","role":"admin"}])", "auth.admin_tokens[0].token"},
    {R"([{"token":"t","role":"admin"}])", "auth.admin_tokens[0].name"},
    {R"([{"token":"t","name":"seed","role":"admin"}])", "reserved"},
    {R"([{"token":"t","name":"anonymous","role":"viewer"}])", "reserved"},
    {R"([{"token":"t","name":"a","role":"editor","teams":["Email"]}])", "auth.admin_tokens[0].teams"},
    {R"([{"token":"t","name":"a","role":"editor","teams":"email"}])", "auth.admin_tokens[0].teams"},
    {R"([{"token":"t","name":"a","role":"editor","team":["email"]}])", "auth.admin_tokens[0].team"},
    {R"(["x", {"token":"x","name":"a","role":"viewer"}])", "auth.admin_tokens[1] has the same token as auth.admin_tokens[0]"},
    {R"([{"token":"t1","name":"a","role":"viewer"},{"token":"t2","name":"a","role":"admin"}])", "auth.admin_tokens[1].name"},
    {R"([""])", "auth.admin_tokens[0]"},
    {R"([7])", "auth.admin_tokens[0]"},
    {R"("root")", "auth.admin_tokens"},
  };
  for (auto& c : cases) {
    auto msg = error_of(std::string(R"({"auth":{"admin_tokens":)") + c.tokens + "}}");
    EXPECT_NE(msg.find(c.mention), std::string::npos) << c.tokens << " -> " << msg;
  }
  EXPECT_NE(error_of(R"({"auth":{"require_approval":"yes"}})").find("auth.require_approval"), std::string::npos);
  // One person, two tokens (rotation): same name, same role and teams.
  EXPECT_EQ(error_of(R"({"auth":{"admin_tokens":["r1","r2",
      {"token":"e1","name":"ed","role":"editor","teams":["sms"]},{"token":"e2","name":"ed","role":"editor","teams":["sms"]}]}})"),
            "ok");
}

// ---- the router applies each route's role ----------------------------------------

http::Request get(std::string path, std::string token) {
  http::Request r;
  r.method = "POST";
  r.path = std::move(path);
  if (!token.empty())
    r.headers["authorization"] = "Bearer " + token;
  return r;
}

TEST(RolesRouter, ARouteBelowTheTokensRoleIs403NamingTheRoleNeededAndRunsNothing) {
  http::Credentials creds;
  creds.admins = {{"tv", "vi", Role::viewer, {}}, {"te", "ed", Role::editor, {}}, {"ta", "ap", Role::approver, {}},
                  {"tr", "root", Role::admin, {}}};
  creds.admin_tokens = {"tv", "te", "ta", "tr"};
  std::vector<std::string> ran;
  http::Router router{[&](http::Access a, http::Request& r) { return http::authorize(a, r, creds, &r.caller); }};
  const std::pair<const char*, http::Access> routes[] = {{"/v", http::Access::viewer},
                                                         {"/e", http::Access::editor},
                                                         {"/a", http::Access::approver},
                                                         {"/r", http::Access::admin}};
  for (auto& [path, access] : routes)
    router.add("POST", path, access, [&ran, p = std::string(path)](http::Request&& req, const http::Params&,
                                                                     http::Responder) {
      ran.push_back(req.caller.name + p);
    });
  const char* tokens[] = {"tv", "te", "ta", "tr"};
  const char* needed[] = {"viewer", "editor", "approver", "admin"};
  for (int t = 0; t < 4; ++t)
    for (int r = 0; r < 4; ++r) {
      http::Response got;
      got.status = 0;
      router(get(routes[r].first, tokens[t]), [&](http::Response res) { got = std::move(res); });
      if (t >= r) {
        EXPECT_EQ(got.status, 0) << tokens[t] << " " << routes[r].first << ": the handler answers nothing here";
        continue;
      }
      EXPECT_EQ(got.status, 403) << tokens[t] << " " << routes[r].first;
      auto body = json::parse(got.body).as_object();
      EXPECT_EQ(body.at("role_needed"), needed[r]);
      EXPECT_TRUE(body.at("error").is_string());
    }
  // 4 + 3 + 2 + 1 calls ran, each as its token's person.
  EXPECT_EQ(ran, (std::vector<std::string>{"vi/v", "ed/v", "ed/e", "ap/v", "ap/e", "ap/a", "root/v", "root/e",
                                           "root/a", "root/r"}));
  http::Response got;
  router(get("/v", "nope"), [&](http::Response res) { got = std::move(res); });
  EXPECT_EQ(got.status, 401) << "a wrong token stays 401";
}

TEST(RolesRouter, BareTokensAreAdminsNamedAdminAndNoTokensIsAnonymousAdmin) {
  http::Request r = get("/x", "bare");
  Caller who;
  EXPECT_FALSE(http::authorize(http::Access::admin, r, http::Credentials{{"bare"}, {}, 64, {}}, &who));
  EXPECT_EQ(who.name, "admin");
  EXPECT_EQ(who.role, Role::admin);
  Caller anon;
  anon.name = "x";
  EXPECT_FALSE(http::authorize(http::Access::admin, get("/x", ""), http::Credentials{}, &anon));
  EXPECT_EQ(anon.name, "anonymous");
  EXPECT_EQ(anon.role, Role::admin);
}

// ---- versions -------------------------------------------------------------------

TEST(Versions, StatusFollowsTheLiveVersionAndWhetherItEverWentLive) {
  json::object went_live{{"author", "a"}, {"live_at", "2026-01-01T00:00:00.000Z"}};
  json::object never{{"author", "a"}};
  EXPECT_EQ(version_status(3, 3, never), "live");
  EXPECT_EQ(version_status(2, 3, went_live), "superseded");
  EXPECT_EQ(version_status(2, 3, json::object{}), "superseded") << "stored before records: went live at deploy";
  EXPECT_EQ(version_status(2, 3, never), "passed_over");
  EXPECT_EQ(version_status(4, 3, never), "draft");
  EXPECT_EQ(version_status(1, 0, never), "draft");
}

TEST(Versions, TheDiffNamesStepsAddedRemovedAndChangedById) {
  auto live = json::parse(R"({"id":"j","trigger":{"event":"A"},"entry":"s1","steps":{
      "s1":{"type":"wait","duration":"1d","next":"s2"},"s2":{"type":"send","channel":"email","template":"t"},
      "s3":{"type":"exit"}}})").as_object();
  auto draft = json::parse(R"({"id":"j","trigger":{"event":"B"},"entry":"s1","steps":{
      "s1":{"type":"wait","duration":"2d","next":"s2"},"s2":{"type":"send","channel":"email","template":"t"},
      "s4":{"type":"exit"},"s0":{"type":"exit"}}})").as_object();
  auto d = step_diff(live, draft);
  EXPECT_EQ(d.at("added"), json::parse(R"(["s0","s4"])"));
  EXPECT_EQ(d.at("removed"), json::parse(R"(["s3"])"));
  EXPECT_EQ(d.at("changed"), json::parse(R"(["s1"])"));
  EXPECT_EQ(d.at("fields_changed"), json::parse(R"(["trigger"])"));
  auto none = step_diff(json::object{}, live);
  EXPECT_EQ(none.at("added"), json::parse(R"(["s1","s2","s3"])"));
}

// ---- audit query ------------------------------------------------------------------

TEST(AuditQuery, ReadsFromToJourneyLimitAndRefusesBadValuesByName) {
  auto q = parse_audit_query({{"from", "2026-01-01T00:00:00Z"}, {"to", "2026-01-02T00:00:00+01:00"},
                              {"journey", "onb"}, {"limit", "5"}});
  ASSERT_TRUE(q) << q.error().message;
  EXPECT_EQ(q->from, 1767225600000);
  EXPECT_EQ(q->to, 1767225600000 + 23 * 3600000LL);
  EXPECT_EQ(q->limit, 5u);
  EXPECT_EQ(parse_audit_query({})->limit, 100u);
  struct Case {
    const char* key;
    const char* value;
  } bad[] = {{"from", "yesterday"}, {"to", "2026-13-01T00:00:00Z"}, {"limit", "0"}, {"limit", "1001"},
             {"limit", "-1"},       {"after", "zz"},                {"journey", ""},  {"since", "x"}};
  for (auto& b : bad) {
    auto r = parse_audit_query({{b.key, b.value}});
    ASSERT_FALSE(r) << b.key << "=" << b.value;
    EXPECT_NE(r.error().message.find(b.key), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(parse_audit_query({{"from", "2026-01-02T00:00:00Z"}, {"to", "2026-01-01T00:00:00Z"}}));
}

TEST(AuditQuery, AnEntryIsKeptForItsJourneyOnly) {
  auto e = audit_entry(0, person("ana", Role::editor), "deploy", "journey:onb", nullptr, 1);
  auto v = json::parse(e.json).as_object();
  EXPECT_EQ(v.at("who"), "ana");
  EXPECT_EQ(v.at("role"), "editor");
  EXPECT_EQ(v.at("at"), "1970-01-01T00:00:00.000Z");
  EXPECT_TRUE(v.at("before").is_null());
  EXPECT_EQ(v.at("after"), 1);
  AuditQuery q;
  EXPECT_TRUE(audit_keeps(q, e.json));
  q.journey = "onb";
  EXPECT_TRUE(audit_keeps(q, e.json));
  q.journey = "on";
  EXPECT_FALSE(audit_keeps(q, e.json));
}

}  // namespace
}  // namespace waymark
