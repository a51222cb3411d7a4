// Attribution over HTTP (PRODUCT.md §10): a small fixed scenario on the
// manual clock whose credits are worked out by hand below, for every model,
// a short lookback and the `step` grouping; bad queries are 400.
//
// Journey "nurture": welcome (channel mail) at entry, nudge (channel text)
// one day later, again (mail) one more day later.
//   T0 = 2030-01-01T00:00:00Z; u1, u2, u4 sign up at T0.
//   touches of each: mail @T0, text @T0+1d, mail @T0+2d
//   u2 orders 50 at T0+12h  -> path (mail)
//   u1 orders 100 at T0+3d  -> path (mail, text, mail)
//   u3 orders 30 at T0+3d, never touched -> unattributed
//   u4 never orders        -> markov's non-converting path (mail, text, mail)
// Range [T0, T0+4d): 3 conversions, 1 unattributed.
#include <gtest/gtest.h>

#include <string>

#include "support/cli.hpp"
#include "support/events.hpp"
#include "support/node.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

const char* kNurture = R"({"id":"nurture","entry":{"event":"Signed Up"},"start":"welcome","steps":{
  "welcome":{"type":"send","channel":"mail","template":"t_mail","next":"w1"},
  "w1":{"type":"wait","duration":"1d","next":"nudge"},
  "nudge":{"type":"send","channel":"text","template":"t_text","next":"w2"},
  "w2":{"type":"wait","duration":"1d","next":"again"},
  "again":{"type":"send","channel":"mail","template":"t_mail","next":"end"},
  "end":{"type":"exit"}}})";

std::string order(const std::string& user, int revenue, const std::string& at) {
  return json::serialize(json::object{{"type", "track"},
                                      {"userId", user},
                                      {"event", "Order Completed"},
                                      {"properties", json::object{{"revenue", revenue}}},
                                      {"timestamp", at}});
}

HttpResponse ingest(Node& node, const std::string& events) {
  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/batch";
  req.body = "{\"batch\":[" + events + "]}";
  return http_request(node.http_port(), req);
}

struct Attribution : ::testing::Test {
  Node node{[] {
    NodeOptions o;
    o.config["channels"] = json::object{{"mail", json::object{{"provider", "file"}, {"address_trait", ""}}},
                                        {"text", json::object{{"provider", "file"}, {"address_trait", ""}}}};
    return o;
  }()};

  void SetUp() override {
    ASSERT_TRUE(node.start());
    ASSERT_EQ(node.post("/api/clock", R"({"set":"2030-01-01T00:00:00Z"})").status, 200);
    ASSERT_EQ(node.deploy_template(R"({"id":"t_mail","channel":"mail","text":"m"})").status, 201);
    ASSERT_EQ(node.deploy_template(R"({"id":"t_text","channel":"text","text":"t"})").status, 201);
    ASSERT_EQ(node.deploy_journey(kNurture).status, 201);
    ASSERT_EQ(ingest(node, track("u1", "Signed Up") + "," + track("u2", "Signed Up") + "," + track("u4", "Signed Up"))
                .status,
              200);
    ASSERT_EQ(node.advance_clock("12h").status, 200);
    ASSERT_EQ(ingest(node, order("u2", 50, "2030-01-01T12:00:00Z")).status, 200);
    ASSERT_EQ(node.advance_clock("12h").status, 200);  // T0+1d: nudge
    ASSERT_EQ(node.advance_clock("1d").status, 200);   // T0+2d: again
    ASSERT_EQ(node.advance_clock("1d").status, 200);   // T0+3d
    ASSERT_EQ(ingest(node, order("u1", 100, "2030-01-04T00:00:00Z") + "," + order("u3", 30, "2030-01-04T00:00:00Z"))
                .status,
              200);
  }

  json::value query(const std::string& params) {
    auto r = node.get("/api/attribution?from=2030-01-01T00:00:00Z&to=2030-01-05T00:00:00Z&" + params);
    EXPECT_EQ(r.status, 200) << r.describe();
    json::value v = r.json();
    EXPECT_EQ(int_at(v, "conversions"), 3) << r.body;
    EXPECT_EQ(int_at(v, "unattributed"), 1) << r.body;
    return v;
  }
};

/// {group: (conversions, value)} of a report.
std::map<std::string, std::pair<double, double>> credits(const json::value& v) {
  std::map<std::string, std::pair<double, double>> out;
  for (auto& g : array_at(v, "groups"))
    out[str_at(g, "group")] = {g.at("conversions").to_number<double>(), g.at("value").to_number<double>()};
  return out;
}

void expect_credit(const json::value& v, const std::string& group, double conversions, double value) {
  auto c = credits(v);
  ASSERT_TRUE(c.count(group)) << group << " missing in " << json::serialize(v);
  EXPECT_NEAR(c[group].first, conversions, 1e-9) << group << " in " << json::serialize(v);
  EXPECT_NEAR(c[group].second, value, 1e-9) << group << " in " << json::serialize(v);
}

TEST_F(Attribution, EveryModelCreditsTheFixedScenarioAsWorkedOutByHand) {
  // first: u1 -> mail, u2 -> mail
  auto first = query("model=first&by=channel");
  EXPECT_EQ(credits(first).size(), 1u);
  expect_credit(first, "mail", 2, 150);
  EXPECT_EQ(str_at(first, "model"), "first");
  EXPECT_EQ(str_at(first, "from"), "2030-01-01T00:00:00.000Z");
  // last: u1 -> mail (again @T0+2d), u2 -> mail
  expect_credit(query("model=last&by=channel"), "mail", 2, 150);
  // linear: u1 2/3 mail, 1/3 text; u2 1 mail
  auto linear = query("model=linear&by=channel");
  expect_credit(linear, "mail", 1 + 2.0 / 3, 50 + 200.0 / 3);
  expect_credit(linear, "text", 1.0 / 3, 100.0 / 3);
  // position: u1 40 % first mail + 40 % last mail, 20 % text; u2 100 % mail
  auto position = query("model=position&by=channel");
  expect_credit(position, "mail", 1.8, 130);
  expect_credit(position, "text", 0.2, 20);
  // time_decay, half-life 1d: u1 ages 3d, 2d, 1d -> weights 1/8, 1/4, 1/2 (sum 7/8):
  // mail (1/8 + 1/2) / (7/8) = 5/7, text 2/7; u2 mail 1
  auto decay = query("model=time_decay&by=channel&half_life=1d");
  expect_credit(decay, "mail", 1 + 5.0 / 7, 50 + 500.0 / 7);
  expect_credit(decay, "text", 2.0 / 7, 200.0 / 7);
  // markov: transitions start->mail 3, mail->text 2, text->mail 2, mail->conv 2, mail->null 1.
  // P(conv) = x with x = 2/5 x + 2/5 -> 2/3. Without mail: 0 (effect 1); without text:
  // 2/5 (effect 1 - (2/5)/(2/3) = 2/5). Shares 5/7 and 2/7 of 2 conversions worth 150.
  auto markov = query("model=markov&by=channel");
  expect_credit(markov, "mail", 10.0 / 7, 750.0 / 7);
  expect_credit(markov, "text", 4.0 / 7, 300.0 / 7);
}

TEST_F(Attribution, ALookbackLeavesOlderTouchesOutAndGroupsFollowBy) {
  // lookback 1d: u1 sees only mail @T0+2d, u2 mail @T0 (the lower bound is inclusive)
  auto linear = query("model=linear&by=channel&lookback=1d");
  EXPECT_EQ(credits(linear).size(), 1u);
  expect_credit(linear, "mail", 2, 150);
  // 11h: u2's mail @T0 is 12h before its order, u1's last mail 1d before its own:
  // every conversion is unattributed
  auto r = node.get("/api/attribution?model=last&from=2030-01-01T00:00:00Z&to=2030-01-05T00:00:00Z&lookback=11h");
  EXPECT_EQ(int_at(r.json(), "unattributed"), 3) << r.body;
  EXPECT_TRUE(array_at(r.json(), "groups").empty()) << r.body;
  auto step = query("model=last&by=step");
  expect_credit(step, "nurture/again", 1, 100);
  expect_credit(step, "nurture/welcome", 1, 50);
  expect_credit(query("model=first&by=journey"), "nurture", 2, 150);
  expect_credit(query("model=first&by=template"), "t_mail", 2, 150);
  // A range that holds only u2's order.
  auto early = node.get("/api/attribution?model=first&from=2030-01-01T00:00:00Z&to=2030-01-02T00:00:00Z");
  EXPECT_EQ(int_at(early.json(), "conversions"), 1) << early.body;
  EXPECT_EQ(int_at(early.json(), "unattributed"), 0) << early.body;
  // The CLI prints the same groups.
  auto cli = waymark("attribution --model linear --by channel --from 2030-01-01T00:00:00Z --to 2030-01-05T00:00:00Z"
                     " --url http://127.0.0.1:" + std::to_string(node.http_port()));
  EXPECT_EQ(cli.code, 0) << cli.out;
  EXPECT_NE(cli.out.find("unattributed 1"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("1.6667"), std::string::npos) << cli.out;
}

TEST_F(Attribution, BadQueriesAre400WithAMessage) {
  const std::string range = "&from=2030-01-01T00:00:00Z&to=2030-01-05T00:00:00Z";
  for (const std::string& bad : std::vector<std::string>{"model=best" + range, "model=last&by=country" + range, "model=last&to=2030-01-05T00:00:00Z",
        "model=last&from=2030-01-05T00:00:00Z&to=2030-01-01T00:00:00Z", "model=last&from=yesterday&to=2030-01-05T00:00:00Z",
        "model=last&lookback=30" + range, "model=time_decay&half_life=0d" + range, std::string("by=channel") + range}) {
    auto r = node.get("/api/attribution?" + bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.describe();
    EXPECT_FALSE(str_at(r.json(), "error").empty()) << bad;
  }
  auto metrics = node.get("/metrics").body;
  EXPECT_NE(metrics.find("waymark_outcome_requests_refused_total 8"), std::string::npos);
}

}  // namespace
}  // namespace waymark::it
