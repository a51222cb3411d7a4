// Segment-compatible HTTP ingest and the auth of §6 against the real binary:
// write keys on /v1/*, bearer tokens on /api/*, every error code with
// nothing stored, and ingested events behaving like the same events over TCP.
#include <gtest/gtest.h>

#include <string>

#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/outbox.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

constexpr const char* kWriteKey = "wk-test";
constexpr const char* kAdminToken = "adm-test";

NodeOptions with_auth() {
  NodeOptions o;
  o.config = json::object{{"auth", json::object{{"write_keys", json::array{kWriteKey}},
                                               {"admin_tokens", json::array{kAdminToken}}}}};
  o.admin_token = kAdminToken;
  return o;
}

/// "Basic base64(key:)" as Segment clients send it.
std::string basic(const std::string& user) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = user + ":", out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6)
      out += tbl[(n >> k) & 63];
  }
  if (size_t rest = in.size() - i) {
    uint32_t n = uint8_t(in[i]) << 16;
    if (rest == 2)
      n |= uint8_t(in[i + 1]) << 8;
    out += tbl[(n >> 18) & 63];
    out += tbl[(n >> 12) & 63];
    out += rest == 2 ? tbl[(n >> 6) & 63] : '=';
    out += '=';
  }
  return "Basic " + out;
}

HttpResponse ingest(Node& node, const std::string& path, const std::string& body,
                    const std::string& key = kWriteKey) {
  HttpRequest req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  if (!key.empty())
    req.headers.emplace_back("Authorization", basic(key));
  return http_request(node.http_port(), req);
}

HttpResponse admin_get(Node& node, const std::string& path, const std::string& token) {
  HttpRequest req;
  req.path = path;
  if (!token.empty())
    req.headers.emplace_back("Authorization", "Bearer " + token);
  return http_request(node.http_port(), req);
}

bool deploy_onboarding(Node& node) {
  return node.deploy_template(fixtures::kWelcomeTemplate).status == 201 &&
         node.deploy_template(fixtures::kReminderTemplate).status == 201 &&
         node.deploy_journey(fixtures::kOnboardingJourney).status == 201;
}

TEST(HttpIngest, AnIngestedSignUpIsCommittedBeforeTheAnswerAndStartsTheJourneyLikeTcp) {
  Node node(with_auth());
  ASSERT_TRUE(node.start());
  ASSERT_TRUE(deploy_onboarding(node));
  auto r = ingest(node, "/v1/identify", R"({"userId":"h1","traits":{"email":"h1@example.com","first_name":"Hanna"}})");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json(), json::parse(R"({"success":true})"));
  // The event type comes from the path; the write key may also be in the body.
  r = ingest(node, "/v1/track", R"({"userId":"h1","event":"Signed Up","writeKey":"wk-test"})", "");
  ASSERT_EQ(r.status, 200) << r.describe();

  auto c = node.customer("h1");
  ASSERT_EQ(c.status, 200) << c.describe();
  EXPECT_EQ(at_path(c.json(), "profile.traits.first_name"), json::value("Hanna"));
  ASSERT_TRUE(node.wait_outbox_drained());
  auto mails = read_outbox(node.data_dir(), "email");
  ASSERT_EQ(mails.records.size(), 1u);
  EXPECT_EQ(str_at(json::value(mails.records[0]), "to"), "h1@example.com");
}

TEST(HttpIngest, ABatchIsAllOrNothingAndAnAliasMergesTheAnonymousHistory) {
  Node node(with_auth());
  ASSERT_TRUE(node.start());
  auto bad = ingest(node, "/v1/batch",
                    R"({"batch":[{"type":"track","userId":"b1","event":"A"},{"type":"track","event":"B"}]})");
  EXPECT_EQ(bad.status, 400) << bad.describe();
  EXPECT_NE(bad.body.find("batch[1]"), std::string::npos) << bad.body;
  EXPECT_EQ(node.customer("b1").status, 404) << "the valid half of a rejected batch was stored";

  auto ok = ingest(node, "/v1/batch",
                   R"({"batch":[{"type":"page","anonymousId":"anon-9","name":"Pricing"},
                                {"type":"track","anonymousId":"anon-9","event":"Viewed Plans"},
                                {"type":"alias","previousId":"anon-9","userId":"b2"}]})");
  ASSERT_EQ(ok.status, 200) << ok.describe();
  auto c = node.customer("b2").json();
  int viewed = 0;
  for (auto& h : array_at(c, "history"))
    viewed += str_at(h, "name") == "Viewed Plans";
  EXPECT_EQ(viewed, 1) << json::serialize(c);
  EXPECT_EQ(at_path(c, "profile.merged_ids"), json::parse(R"(["anon-9"])"));
}

TEST(HttpIngest, EveryErrorCodeIsReturnedAndNothingIsStored) {
  NodeOptions o = with_auth();
  o.config["limits"] = json::object{{"event_bytes_max", 2048}, {"request_bytes_max", 8192}};
  Node node(o);
  ASSERT_TRUE(node.start());
  auto unauthorized = ingest(node, "/v1/track", R"({"userId":"e1","event":"X"})", "");
  EXPECT_EQ(unauthorized.status, 401);
  EXPECT_EQ(unauthorized.headers["www-authenticate"].rfind("Basic", 0), 0u) << unauthorized.describe();
  EXPECT_EQ(ingest(node, "/v1/track", R"({"userId":"e1","event":"X"})", "wrong").status, 401);
  EXPECT_EQ(ingest(node, "/v1/track", R"({"userId":"e1"})").status, 400);
  EXPECT_EQ(ingest(node, "/v1/track", R"({"userId":"e1","event":"X",)").status, 400);
  EXPECT_EQ(ingest(node, "/v1/track", R"([1,2])").status, 400);
  EXPECT_EQ(ingest(node, "/v1/track", R"({"userId":7,"event":"X"})").status, 400);
  std::string big_event = R"({"userId":"e1","event":"X","properties":{"p":")" + std::string(3000, 'x') + "\"}}";
  EXPECT_EQ(ingest(node, "/v1/track", big_event).status, 413);
  std::string big_body = R"({"batch":[)";
  for (int i = 0; i < 10; ++i)
    big_body += std::string(i ? "," : "") + R"({"type":"track","userId":"e1","event":"X","properties":{"p":")" +
                std::string(1000, 'y') + "\"}}";
  big_body += "]}";
  EXPECT_EQ(ingest(node, "/v1/batch", big_body).status, 413);
  EXPECT_EQ(node.customer("e1").status, 404) << "a rejected request stored something";
  auto stats = node.get("/api/stats").json();
  EXPECT_EQ(int_at(stats, "events_acked"), 0);
  // The oversized body is refused by the HTTP server before any handler runs;
  // the other seven rejections are counted as nacks.
  EXPECT_GE(int_at(stats, "events_nacked"), 7);
}

TEST(HttpAuth, TheAdminApiNeedsAConfiguredBearerToken) {
  Node node(with_auth());
  ASSERT_TRUE(node.start());
  EXPECT_EQ(admin_get(node, "/api/stats", "").status, 401);
  EXPECT_EQ(admin_get(node, "/api/stats", "nope").status, 401);
  EXPECT_EQ(admin_get(node, "/api/journeys", "").status, 401);
  EXPECT_EQ(admin_get(node, "/api/stats", kAdminToken).status, 200);
  EXPECT_EQ(admin_get(node, "/healthz", "").status, 200);
  HttpRequest put;
  put.method = "PUT";
  put.path = "/api/templates/welcome";
  put.body = fixtures::kWelcomeTemplate;
  EXPECT_EQ(http_request(node.http_port(), put).status, 401);
  EXPECT_TRUE(node.get("/api/templates").json().as_object().at("templates").as_array().empty());
  EXPECT_NE(node.logs().find("ready"), std::string::npos);
  EXPECT_EQ(node.logs().find(kAdminToken), std::string::npos) << "a credential reached the logs";
  EXPECT_EQ(node.logs().find(kWriteKey), std::string::npos) << "a credential reached the logs";
}

TEST(HttpAuth, ANodeRefusesToListenBeyondLoopbackWithoutKeys) {
  NodeOptions o;
  o.config = json::object{{"http", json::object{{"listen", "0.0.0.0:0"}}}};
  Node node(o);
  EXPECT_FALSE(node.start()) << "an exposed listener without auth must not start";
  EXPECT_NE(node.logs().find("refusing to start"), std::string::npos) << node.logs();
}

}  // namespace
}  // namespace waymark::it
