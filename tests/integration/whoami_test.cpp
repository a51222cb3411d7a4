// GET /api/whoami (PRODUCT.md §11) against the real binary: each token of
// auth.admin_tokens is answered with its own name, role and teams; a
// bare-string token is an admin named "admin"; no tokens at all (loopback) is
// "anonymous", an admin; a wrong or missing token is 401.
#include <gtest/gtest.h>

#include <string>

#include "support/events.hpp"
#include "support/node.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

NodeOptions with_people() {
  NodeOptions o;
  o.config = json::object{{"auth", json::object{{"admin_tokens", json::array{
    json::object{{"token", "tok-viewer"}, {"name", "vera"}, {"role", "viewer"}},
    json::object{{"token", "tok-editor"}, {"name", "ed"}, {"role", "editor"}, {"teams", json::array{"email", "sms"}}},
    json::object{{"token", "tok-approver"}, {"name", "april"}, {"role", "approver"}, {"teams", json::array{"push"}}},
    json::object{{"token", "tok-boss"}, {"name", "bo"}, {"role", "admin"}},
    "tok-bare",
  }}}}};
  o.admin_token = "tok-boss";
  return o;
}

HttpResponse whoami(const Node& node, const std::string& token) {
  HttpRequest req;
  req.path = "/api/whoami";
  if (!token.empty())
    req.headers.emplace_back("Authorization", "Bearer " + token);
  return http_request(node.http_port(), req);
}

TEST(Whoami, EachTokenIsAnsweredWithItsOwnNameRoleAndTeams) {
  Node node{with_people()};
  ASSERT_TRUE(node.start());
  struct Case { const char* token; const char* expected; };
  for (auto c : {Case{"tok-viewer", R"({"name":"vera","role":"viewer","teams":[]})"},
                 Case{"tok-editor", R"({"name":"ed","role":"editor","teams":["email","sms"]})"},
                 Case{"tok-approver", R"({"name":"april","role":"approver","teams":["push"]})"},
                 Case{"tok-boss", R"({"name":"bo","role":"admin","teams":[]})"},
                 Case{"tok-bare", R"({"name":"admin","role":"admin","teams":[]})"}}) {
    auto r = whoami(node, c.token);
    ASSERT_EQ(r.status, 200) << c.token << ": " << r.describe();
    EXPECT_EQ(r.json(), json::parse(c.expected)) << c.token << ": " << r.body;
  }
  EXPECT_EQ(whoami(node, "tok-nobody").status, 401);
  EXPECT_EQ(whoami(node, "").status, 401);
  // Asking changes nothing and refuses nobody: no audit entry, no 403 counted.
  auto stats = node.get("/api/stats").json();
  EXPECT_EQ(int_at(stats, "http_forbidden"), 0);
  EXPECT_EQ(array_at(node.get("/api/audit").json(), "entries").size(), 0u);
}

TEST(Whoami, ABareStringTokenAloneIsAnAdminNamedAdmin) {
  NodeOptions o;
  o.config = json::object{{"auth", json::object{{"admin_tokens", json::array{"only-token"}}}}};
  o.admin_token = "only-token";
  Node node{o};
  ASSERT_TRUE(node.start());
  auto r = whoami(node, "only-token");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json(), json::parse(R"({"name":"admin","role":"admin","teams":[]})"));
  EXPECT_EQ(whoami(node, "only-tokeN").status, 401);
}

TEST(Whoami, WithoutAnyTokenOnLoopbackTheCallerIsAnonymousAnAdmin) {
  Node node;
  ASSERT_TRUE(node.start());
  auto r = whoami(node, "");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json(), json::parse(R"({"name":"anonymous","role":"admin","teams":[]})"));
}

}  // namespace
}  // namespace waymark::it
