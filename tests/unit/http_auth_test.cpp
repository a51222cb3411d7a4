// Credential parsing and comparison used by the HTTP API's auth
// (src/http/router.hpp): Bearer tokens, Basic-auth write keys (Segment sends
// base64("key:")), the constant-time membership check, and the router's
// authorisation on the route that matched.
#include <gtest/gtest.h>

#include "http/router.hpp"

namespace waymark::http {
namespace {

Request with_authorization(const std::string& value) {
  Request r;
  r.headers["authorization"] = value;
  return r;
}

TEST(HttpCredentials, ABearerTokenIsReadWhateverTheSchemeCase) {
  EXPECT_EQ(bearer_token(with_authorization("Bearer adm-1")), "adm-1");
  EXPECT_EQ(bearer_token(with_authorization("bearer adm-1")), "adm-1");
  EXPECT_FALSE(bearer_token(with_authorization("Basic YWRtLTE6")));
  EXPECT_FALSE(bearer_token(Request{}));
}

TEST(HttpCredentials, TheBasicUserNameIsTheWriteKeyAndThePasswordIsIgnored) {
  EXPECT_EQ(basic_auth_user(with_authorization("Basic d2stdGVzdDo=")), "wk-test");     // "wk-test:"
  EXPECT_EQ(basic_auth_user(with_authorization("Basic d2stdGVzdDpwdw==")), "wk-test");  // "wk-test:pw"
  EXPECT_FALSE(basic_auth_user(with_authorization("Basic !!not-base64!!")));
  EXPECT_FALSE(basic_auth_user(with_authorization("Bearer d2stdGVzdDo=")));
}

TEST(HttpCredentials, ACredentialMatchesOnlyAnIdenticalAcceptedOne) {
  std::vector<std::string> accepted{"alpha-key", "beta"};
  EXPECT_TRUE(credential_in("alpha-key", accepted));
  EXPECT_TRUE(credential_in("beta", accepted));
  EXPECT_FALSE(credential_in("alpha-ke", accepted)) << "a prefix is not the key";
  EXPECT_FALSE(credential_in("alpha-keyy", accepted));
  EXPECT_FALSE(credential_in("betabeta", accepted)) << "a repetition is not the key";
  EXPECT_FALSE(credential_in("", accepted));
  EXPECT_FALSE(credential_in("beta", {}));
  EXPECT_FALSE(credential_in("", {""})) << "an empty configured key never matches";
}

Request request(std::string method, std::string path, std::string authorization = "", std::string body = "") {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  if (!authorization.empty()) r.headers["authorization"] = std::move(authorization);
  return r;
}

/// A router over the three access classes that records which handler ran.
struct Fixture {
  Credentials creds{{"adm-1"}, {"wk-1"}, 64};
  std::vector<std::string> ran;
  Router router{[this](Access a, const Request& r) { return authorize(a, r, creds); }};
  Fixture() {
    router.add("GET", "/healthz", Access::open, [this](Request&&, const Params&, Responder) { ran.push_back("healthz"); });
    router.add("DELETE", "/api/customers/{id}", Access::admin,
               [this](Request&&, const Params& p, Responder) { ran.push_back("delete " + p.at("id")); });
    router.add("POST", "/v1/track", Access::write_key, [this](Request&&, const Params&, Responder) { ran.push_back("track"); });
  }
  int status(Request req) {
    int got = 0;
    router(std::move(req), [&](Response r) { got = r.status; });
    return got;
  }
};

TEST(RouteAccess, AnAdminRouteIsAuthorisedOnTheRouteThatMatchedWhateverTheSpelling) {
  Fixture f;
  for (std::string path : {"/api/customers/x", "//api/customers/x", "///api/customers/x", "/api//customers//x/",
                           "//api//customers//x//"}) {
    EXPECT_EQ(f.status(request("DELETE", path)), 401) << path;
    EXPECT_EQ(f.status(request("DELETE", path, "Bearer adm-2")), 401) << path;
    EXPECT_EQ(f.status(request("DELETE", path, "Basic YWRtLTE6")), 401) << path << ": a Basic adm-1 is no bearer token";
  }
  EXPECT_TRUE(f.ran.empty()) << f.ran.front();
  f.status(request("DELETE", "//api//customers//x", "Bearer adm-1"));
  EXPECT_EQ(f.ran, std::vector<std::string>{"delete x"});
}

TEST(RouteAccess, AnotherMethodOnAnAdminPathIsRefusedBeforeThe405) {
  Fixture f;
  EXPECT_EQ(f.status(request("GET", "//api/customers/x")), 401);
  EXPECT_EQ(f.status(request("GET", "//api/customers/x", "Bearer adm-1")), 405);
  EXPECT_EQ(f.status(request("GET", "/nowhere")), 404);
}

TEST(RouteAccess, AWriteKeyComesFromBasicAuthElseTheBodyAndAnUnreadableBodyCarriesNone) {
  Fixture f;
  EXPECT_EQ(f.status(request("POST", "/v1/track")), 401);
  EXPECT_EQ(f.status(request("POST", "/v1/track", "", R"({"userId":)")), 401) << "malformed and keyless: 401, not 400";
  EXPECT_EQ(f.status(request("POST", "/v1/track", "", R"({"writeKey":"wk-2"})")), 401);
  EXPECT_EQ(f.status(request("POST", "/v1/track", "", R"({"writeKey":7})")), 401);
  EXPECT_EQ(f.status(request("POST", "/v1/track", "", R"(["wk-1"])")), 401);
  EXPECT_EQ(f.status(request("POST", "/v1/track", "Bearer wk-1")), 401) << "a write key is not a bearer token";
  EXPECT_TRUE(f.ran.empty());
  f.status(request("POST", "//v1/track", "Basic d2stMTo="));  // "wk-1:"
  f.status(request("POST", "/v1/track", "", R"({"writeKey":"wk-1","userId":"u"})"));
  EXPECT_EQ(f.ran, (std::vector<std::string>{"track", "track"}));
}

TEST(RouteAccess, EmptyCredentialListsLetEveryoneInAndOpenRoutesNeedNothing) {
  Credentials none;
  for (auto a : {Access::open, Access::admin, Access::write_key})
    EXPECT_FALSE(authorize(a, request("GET", "/x"), none));
  Fixture f;
  EXPECT_FALSE(authorize(Access::open, request("GET", "/healthz"), f.creds));
  auto refusal = authorize(Access::admin, request("GET", "/x"), f.creds);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->headers, (std::vector<std::pair<std::string, std::string>>{{"WWW-Authenticate", "Bearer"}}));
}

}  // namespace
}  // namespace waymark::http
