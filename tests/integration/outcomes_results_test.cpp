// Experiment results over HTTP (PRODUCT.md §10): a journey with a 20 %
// holdout and a 50/50 split runs over 3,000 customers on the manual clock;
// variant b converts better by construction, and GET
// /api/journeys/{id}/results names it with an interval that excludes 0.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "support/cli.hpp"
#include "support/events.hpp"
#include "support/node.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

const char* kTemplateA = R"({"id":"offer_a","channel":"note","text":"A"})";
const char* kTemplateB = R"({"id":"offer_b","channel":"note","text":"B"})";
// Entrants are split 50/50 after the holdout; each variant sends its own
// template, so the outbox tells which customer took which variant.
const char* kPromo = R"({"id":"promo","entry":{"event":"Signed Up"},"holdout":{"percent":20},
  "goal":{"event":"Upgraded","value":"properties.amount"},"start":"pick","steps":{
  "pick":{"type":"split","variants":[{"name":"a","weight":50,"next":"send_a"},{"name":"b","weight":50,"next":"send_b"}]},
  "send_a":{"type":"send","channel":"note","template":"offer_a","next":"wait"},
  "send_b":{"type":"send","channel":"note","template":"offer_b","next":"wait"},
  "wait":{"type":"wait","duration":"30d","next":"end"},
  "end":{"type":"exit"}}})";

constexpr int kCustomers = 3000;
constexpr int kBatch = 500;

NodeOptions options() {
  NodeOptions o;
  o.config["channels"] = json::object{{"note", json::object{{"provider", "file"}, {"address_trait", ""}}}};
  return o;
}

HttpResponse ingest(Node& node, const std::vector<std::string>& events) {
  std::string body = "{\"batch\":[";
  for (size_t i = 0; i < events.size(); ++i)
    body += (i ? "," : "") + events[i];
  body += "]}";
  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/batch";
  req.body = body;
  req.timeout_ms = 30000;
  return http_request(node.http_port(), req);
}

std::string customer(int i) { return "c" + std::to_string(i); }

/// customer -> template of the message it got, from the file provider's outbox.
std::map<std::string, std::string> variants_sent(Node& node) {
  std::map<std::string, std::string> out;
  std::ifstream in(node.data_dir() + "/outbox/note.ndjson");
  for (std::string line; std::getline(in, line);) {
    json::value v = parse_json(line);
    out[str_at(v, "customer")] = str_at(v, "template");
  }
  return out;
}

/// By construction: customer i converts when i % 10 < k, k = 1 (holdout), 2 (a), 5 (b).
bool converts(int i, const std::string& group) {
  const int k = group == "holdout" ? 1 : group == "offer_a" ? 2 : 5;
  return i % 10 < k;
}

json::object arm_named(const json::value& results, const std::string& name) {
  for (auto& a : array_at(results, "arms"))
    if (str_at(a, "arm") == name)
      return a.as_object();
  ADD_FAILURE() << "no arm " << name << " in " << json::serialize(results);
  return {};
}

double num(const json::value& v, const std::string& dotted) {
  json::value x = at_path(v, dotted);
  return x.is_number() ? x.to_number<double>() : std::nan("");
}

TEST(OutcomesResults, ASplitWithAHoldoutNamesTheBetterVariantWithAnIntervalThatExcludesZero) {
  Node node(options());
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.deploy_template(kTemplateA).status, 201);
  ASSERT_EQ(node.deploy_template(kTemplateB).status, 201);
  auto deployed = node.deploy_journey(kPromo);
  ASSERT_EQ(deployed.status, 201) << deployed.describe();

  for (int first = 0; first < kCustomers; first += kBatch) {
    std::vector<std::string> events;
    for (int i = first; i < first + kBatch; ++i)
      events.push_back(track(customer(i), "Signed Up"));
    auto r = ingest(node, events);
    ASSERT_EQ(r.status, 200) << r.describe();
  }
  ASSERT_TRUE(node.wait_outbox_drained());
  const auto sent = variants_sent(node);

  // Who is in which arm: a message of offer_a / offer_b, or none (held out).
  std::map<std::string, int> entered, converted;
  std::vector<std::string> goals;
  for (int i = 0; i < kCustomers; ++i) {
    auto it = sent.find(customer(i));
    const std::string group = it == sent.end() ? "holdout" : it->second;
    ++entered[group];
    if (converts(i, group)) {
      ++converted[group];
      goals.push_back(track(customer(i), "Upgraded", json::object{{"amount", 10}}));
    }
  }
  ASSERT_EQ(node.advance_clock("1d").status, 200);
  for (size_t first = 0; first < goals.size(); first += kBatch) {
    std::vector<std::string> part(goals.begin() + first, goals.begin() + std::min(goals.size(), first + kBatch));
    auto r = ingest(node, part);
    ASSERT_EQ(r.status, 200) << r.describe();
  }

  auto res = node.get("/api/journeys/promo/results");
  ASSERT_EQ(res.status, 200) << res.describe();
  const json::value results = res.json();
  EXPECT_EQ(str_at(results, "journey"), "promo");

  // Entrants per arm: the shares of a 20 % holdout and an even split of the
  // rest, within 5 standard deviations of a binomial count (deterministic
  // hashes, so this is a check of the shares, not a flaky draw):
  // holdout n p = 600, sd = sqrt(3000 * 0.2 * 0.8) = 21.9 -> 600 +/- 110;
  // each variant 1200, sd = sqrt(3000 * 0.4 * 0.6) = 26.8 -> 1200 +/- 134.
  const json::object all = arm_named(results, "all"), treated = arm_named(results, "treated"),
                     held = arm_named(results, "holdout"), a = arm_named(results, "pick:a"),
                     b = arm_named(results, "pick:b");
  EXPECT_EQ(int_at(all, "entered"), kCustomers);
  EXPECT_NEAR(int_at(held, "entered"), 600, 110);
  EXPECT_NEAR(int_at(a, "entered"), 1200, 134);
  EXPECT_NEAR(int_at(b, "entered"), 1200, 134);
  // ... and exactly what the outbox says.
  EXPECT_EQ(int_at(held, "entered"), entered["holdout"]);
  EXPECT_EQ(int_at(a, "entered"), entered["offer_a"]);
  EXPECT_EQ(int_at(b, "entered"), entered["offer_b"]);
  EXPECT_EQ(int_at(treated, "entered"), entered["offer_a"] + entered["offer_b"]);
  EXPECT_EQ(int_at(held, "converted"), converted["holdout"]);
  EXPECT_EQ(int_at(a, "converted"), converted["offer_a"]);
  EXPECT_EQ(int_at(b, "converted"), converted["offer_b"]);
  EXPECT_EQ(int_at(all, "converted"), converted["holdout"] + converted["offer_a"] + converted["offer_b"]);
  EXPECT_DOUBLE_EQ(num(b, "value"), 10.0 * converted["offer_b"]);
  EXPECT_DOUBLE_EQ(num(b, "value_per_entrant"), 10.0 * converted["offer_b"] / entered["offer_b"]);

  // Uplift of b against the holdout, worked out here: diff = pb - ph,
  // interval diff -/+ 1.96 sqrt(pb(1-pb)/nb + ph(1-ph)/nh).
  const double nb = entered["offer_b"], nh = entered["holdout"];
  const double pb = converted["offer_b"] / nb, ph = converted["holdout"] / nh;
  const double se = std::sqrt(pb * (1 - pb) / nb + ph * (1 - ph) / nh);
  json::object ub = b.at("uplift").as_object();
  EXPECT_EQ(str_at(ub, "vs"), "holdout");
  EXPECT_NEAR(num(ub, "diff"), pb - ph, 1e-12);
  const auto& ci = ub.at("ci").as_array();
  EXPECT_NEAR(ci[0].to_number<double>(), pb - ph - 1.959964 * se, 1e-5);
  EXPECT_NEAR(ci[1].to_number<double>(), pb - ph + 1.959964 * se, 1e-5);
  EXPECT_GT(ci[0].to_number<double>(), 0);  // the interval excludes 0
  EXPECT_LT(num(ub, "p"), 1e-6);
  // b is the winner: the larger uplift, and a's interval lies below b's diff.
  json::object ua = a.at("uplift").as_object();
  EXPECT_GT(num(ub, "diff"), num(ua, "diff"));
  EXPECT_LT(ua.at("ci").as_array()[1].to_number<double>(), num(ub, "diff"));
  EXPECT_TRUE(all.at("uplift").is_null());
  EXPECT_TRUE(held.at("uplift").is_null());
  EXPECT_EQ(str_at(treated.at("uplift"), "vs"), "holdout");

  // One version asked for; a version that does not exist; an unknown journey.
  const json::value v1 = node.get("/api/journeys/promo/results?version=1").json();
  EXPECT_EQ(int_at(v1, "version"), 1);
  EXPECT_EQ(array_at(v1, "arms"), array_at(results, "arms"));
  EXPECT_EQ(node.get("/api/journeys/promo/results?version=2").status, 400);
  EXPECT_EQ(node.get("/api/journeys/promo/results?version=x").status, 400);
  EXPECT_EQ(node.get("/api/journeys/nope/results").status, 404);

  // The CLI shows the same arms.
  auto cli = waymark("journey promo --results --url http://127.0.0.1:" + std::to_string(node.http_port()));
  EXPECT_EQ(cli.code, 0) << cli.out;
  EXPECT_NE(cli.out.find("pick:b"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("vs holdout"), std::string::npos) << cli.out;
}

TEST(OutcomesResults, ReplayAfterACrashRecordsNothingTwice) {
  Node node(options());
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.deploy_template(kTemplateA).status, 201);
  ASSERT_EQ(node.deploy_template(kTemplateB).status, 201);
  ASSERT_EQ(node.deploy_journey(kPromo).status, 201);
  std::vector<std::string> events;
  for (int i = 0; i < 40; ++i)  // one input each: logged, not snapshotted (snapshot_every 16)
    events.push_back(track(customer(i), "Signed Up"));
  ASSERT_EQ(ingest(node, events).status, 200);
  const std::string before = node.get("/api/journeys/promo/results").body;
  ASSERT_EQ(int_at(arm_named(parse_json(before), "all"), "entered"), 40) << before;
  node.kill9();
  ASSERT_TRUE(node.restart());  // recovery replays the 40 logged inputs
  EXPECT_EQ(node.get("/api/journeys/promo/results").body, before);
  // A customer's next input after the replay counts once more, no more.
  ASSERT_EQ(ingest(node, {track(customer(0), "Upgraded")}).status, 200);
  const json::value after = node.get("/api/journeys/promo/results").json();
  EXPECT_EQ(int_at(arm_named(after, "all"), "entered"), 40);
  EXPECT_EQ(int_at(arm_named(after, "all"), "converted"), 1);
}

TEST(OutcomesResults, AHoldoutPercentOutside0To50IsRefusedWithItsPath) {
  Node node(options());
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.deploy_template(kTemplateA).status, 201);
  ASSERT_EQ(node.deploy_template(kTemplateB).status, 201);
  json::value bad = parse_json(kPromo);
  bad.as_object()["holdout"] = json::object{{"percent", 51}};
  auto r = node.deploy_journey(json::serialize(bad));
  ASSERT_EQ(r.status, 422) << r.describe();
  EXPECT_EQ(str_at(array_at(r.json(), "errors").at(0), "path"), "holdout.percent") << r.body;
  EXPECT_EQ(node.get("/api/journeys/promo").status, 404);
}

}  // namespace
}  // namespace waymark::it
