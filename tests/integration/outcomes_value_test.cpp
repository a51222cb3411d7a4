// Customer value and CLV over HTTP (PRODUCT.md §10): the customer view's
// realized value, count, first and last conversion (worked out below), a
// fit refused with too few repeat buyers, then a fit over synthetic
// customers: parameters stored and served, predicted value per customer and
// summed per journey.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <string>

#include "support/cluster.hpp"
#include "support/events.hpp"
#include "support/node.hpp"
#include "waymark/time.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

const char* kWelcome = R"({"id":"welcome","entry":{"event":"Signed Up"},"start":"hello","steps":{
  "hello":{"type":"send","channel":"note","template":"t_note","next":"end"},"end":{"type":"exit"}}})";

NodeOptions options() {
  NodeOptions o;
  o.config["channels"] = json::object{{"note", json::object{{"provider", "file"}, {"address_trait", ""}}}};
  return o;
}

HttpResponse ingest(Node& node, const std::string& events) {
  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/batch";
  req.body = "{\"batch\":[" + events + "]}";
  req.timeout_ms = 30000;
  return http_request(node.http_port(), req);
}

std::string order(const std::string& user, double revenue, Millis at) {
  return json::serialize(json::object{{"type", "track"},
                                      {"userId", user},
                                      {"event", "Order Completed"},
                                      {"properties", json::object{{"revenue", revenue}}},
                                      {"timestamp", format_rfc3339(at)}});
}

constexpr Millis kDay = 86400LL * 1000;
// 2029-01-01T00:00:00Z
constexpr Millis kStart = 1861920000000LL;

/// Customer k buys 1 + k % 5 times, every 10 + k days from day k, for 20 + k each.
/// Repeat buyers: k % 5 != 0.
std::string purchases(int k) {
  std::string out;
  for (int n = 0; n < 1 + k % 5; ++n)
    out += (out.empty() ? "" : ",") + order("k" + std::to_string(k), 20 + k, kStart + (k + n * (10 + k)) * kDay);
  return out;
}

/// Customers drawn from BG/NBD + Gamma-Gamma with r 0.8, alpha 10 d, a 0.8, b 4,
/// p 6, q 4, gamma 15 (as tests/unit/outcomes_clv_test.cpp, which checks that
/// a fit recovers them): first purchase 180-365 days before `now`, then
/// exponential gaps, dropout after each purchase. Fixed seed, libstdc++.
std::string drawn_purchases(int customers, Millis now) {
  std::mt19937_64 rng(20261206);
  std::gamma_distribution<double> lambda_of(0.8, 1 / 10.0), beta_a(0.8, 1), beta_b(4.0, 1), nu_of(4.0, 1 / 15.0);
  std::uniform_real_distribution<double> age(180, 365), unit(0, 1);
  std::string out;
  for (int k = 0; k < customers; ++k) {
    const std::string id = "k" + std::to_string(k);
    const double lambda = lambda_of(rng), ga = beta_a(rng), p = ga / (ga + beta_b(rng));
    std::exponential_distribution<double> gap(lambda);
    std::gamma_distribution<double> value(6.0, 1 / nu_of(rng));
    const double T = age(rng);
    const Millis first = now - static_cast<Millis>(T * kDay);
    out += (out.empty() ? "" : ",") + track(id, "Signed Up") + "," + order(id, std::round(value(rng) * 100) / 100, first);
    for (double t = gap(rng); t <= T; t += gap(rng)) {
      out += "," + order(id, std::round(value(rng) * 100) / 100, first + static_cast<Millis>(t * kDay));
      if (unit(rng) < p)
        break;
    }
  }
  return out;
}

void setup(Node& node, int customers) {
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.post("/api/clock", R"({"set":"2030-01-01T00:00:00Z"})").status, 200);
  ASSERT_EQ(node.deploy_template(R"({"id":"t_note","channel":"note","text":"hi"})").status, 201);
  ASSERT_EQ(node.deploy_journey(kWelcome).status, 201);
  if (customers == 0)
    return;
  std::string events;
  for (int k = 0; k < customers; ++k)
    events += (k ? "," : "") + track("k" + std::to_string(k), "Signed Up") + "," + purchases(k);
  auto r = ingest(node, events);
  ASSERT_EQ(r.status, 200) << r.describe();
}

TEST(OutcomesValue, TheCustomerViewShowsRealizedValueAndAFitRefusesTooFewRepeatBuyers) {
  Node node(options());
  setup(node, 12);  // repeat buyers: k = 1-4, 6-9, 11 -> 9 < 10
  // k = 7: 3 purchases of 27 on days 7, 24, 41 of 2029
  auto c = node.customer("k7");
  ASSERT_EQ(c.status, 200) << c.describe();
  const json::value value = at_path(c.json(), "value");
  EXPECT_DOUBLE_EQ(value.at("realized").to_number<double>(), 81);
  EXPECT_EQ(int_at(value, "conversions"), 3);
  EXPECT_EQ(str_at(value, "first"), "2029-01-08T00:00:00.000Z");
  EXPECT_EQ(str_at(value, "last"), "2029-02-11T00:00:00.000Z");
  EXPECT_TRUE(value.at("predicted").is_null());
  EXPECT_EQ(node.get("/api/clv").body, R"({"fitted":false})");
  auto fit = node.post("/api/clv/fit", "");
  EXPECT_EQ(fit.status, 422) << fit.describe();
  EXPECT_NE(str_at(fit.json(), "error").find("repeat"), std::string::npos) << fit.body;
  EXPECT_EQ(node.get("/api/clv").body, R"({"fitted":false})");
}

TEST(OutcomesValue, AFitIsStoredServedAndPredictsPerCustomerAndPerJourney) {
  Node node(options());
  setup(node, 0);
  auto r = ingest(node, drawn_purchases(300, 1893456000000LL));  // 2030-01-01
  ASSERT_EQ(r.status, 200) << r.describe();
  auto fit = node.post("/api/clv/fit", "");
  ASSERT_EQ(fit.status, 200) << fit.describe();
  const json::value f = fit.json();
  for (const char* p : {"r", "alpha", "a", "b", "p", "q", "gamma"})
    EXPECT_GT(at_path(f, std::string("params.") + p).to_number<double>(), 0) << p << " in " << fit.body;
  EXPECT_GT(at_path(f, "params.q").to_number<double>(), 1) << fit.body;  // the mean spend exists
  EXPECT_EQ(int_at(f, "customers"), 300);
  EXPECT_EQ(str_at(f, "at"), "2030-01-01T00:00:00.000Z");
  auto served = node.get("/api/clv");
  EXPECT_EQ(served.body, fit.body);
  // Per customer: a number; summed over the 300 customers it is the journey's figure.
  double sum = 0;
  for (int k = 0; k < 300; ++k) {
    auto c = node.customer("k" + std::to_string(k));
    json::value p = at_path(c.json(), "value.predicted");
    ASSERT_TRUE(p.is_number()) << c.body;
    EXPECT_GE(p.to_number<double>(), 0);
    sum += p.to_number<double>();
  }
  auto journeys = array_at(f, "by_journey");
  ASSERT_EQ(journeys.size(), 1u) << fit.body;
  EXPECT_EQ(str_at(journeys[0], "journey"), "welcome");
  EXPECT_EQ(int_at(journeys[0], "customers"), 300);
  EXPECT_NEAR(journeys[0].at("predicted").to_number<double>(), sum, 1e-6 * sum);
  // The fit survives a restart (stored in meta).
  ASSERT_EQ(node.terminate(), 0);
  ASSERT_TRUE(node.restart());
  EXPECT_EQ(node.get("/api/clv").body, fit.body);
}

TEST(OutcomesValue, InAClusterTheFitCoversEveryMembersCustomersAndMatchesOneNodeHoldingThemAll) {
  const std::string events = drawn_purchases(300, 1893456000000LL);  // 2030-01-01
  Node single(options());
  setup(single, 0);
  ASSERT_EQ(ingest(single, events).status, 200);
  auto one = single.post("/api/clv/fit", "");
  ASSERT_EQ(one.status, 200) << one.describe();

  // Three members; the events go to one of them and are forwarded to their owners.
  auto ports = free_ports(3);
  std::vector<std::unique_ptr<Node>> members;
  for (auto p : ports) {
    std::vector<uint16_t> peers;
    for (auto q : ports)
      if (q != p)
        peers.push_back(q);
    NodeOptions o = member(p, peers);
    o.config["channels"] = options().config["channels"];
    members.push_back(std::make_unique<Node>(o));
  }
  for (auto& m : members)
    ASSERT_TRUE(m->start()) << m->logs();
  for (auto& m : members)
    ASSERT_TRUE(eventually([&] { return all_up(*m); })) << m->logs();
  Node& entry = *members[1];
  ASSERT_EQ(entry.post("/api/clock", R"({"set":"2030-01-01T00:00:00Z"})").status, 200);
  ASSERT_EQ(entry.deploy_template(R"({"id":"t_note","channel":"note","text":"hi"})").status, 201);
  ASSERT_EQ(entry.deploy_journey(kWelcome).status, 201);
  ASSERT_EQ(ingest(entry, events).status, 200);
  std::set<std::string> owners;
  for (int k = 0; k < 300; k += 7)
    owners.insert(owner_of(entry, "k" + std::to_string(k)));
  ASSERT_EQ(owners.size(), 3u) << "the customers are spread over the members";

  auto fit = entry.post("/api/clv/fit", "");
  ASSERT_EQ(fit.status, 200) << fit.describe();
  const json::value f = fit.json(), g = one.json();
  EXPECT_EQ(int_at(f, "customers"), 300) << "every member's customers are in the fit";
  // The same summaries in another order: the same maximum, up to the fit's tolerance.
  for (const char* p : {"r", "alpha", "a", "b", "p", "q", "gamma"}) {
    const double mine = at_path(f, std::string("params.") + p).to_number<double>();
    const double theirs = at_path(g, std::string("params.") + p).to_number<double>();
    EXPECT_NEAR(mine, theirs, 1e-3 * std::abs(theirs)) << p << ": " << fit.body << " vs " << one.body;
  }
  auto journeys = array_at(f, "by_journey");
  ASSERT_EQ(journeys.size(), 1u) << fit.body;
  EXPECT_EQ(int_at(journeys[0], "customers"), 300) << "each member sums its own customers";
  const double single_sum = array_at(g, "by_journey")[0].at("predicted").to_number<double>();
  EXPECT_NEAR(journeys[0].at("predicted").to_number<double>(), single_sum, 1e-3 * single_sum);
  // Every member stores the fit: GET /api/clv and customer views agree.
  for (auto& m : members)
    EXPECT_EQ(m->get("/api/clv").body, fit.body);
  for (int k = 0; k < 300; k += 37) {
    const std::string id = "k" + std::to_string(k);
    json::value mine = at_path(entry.customer(id).json(), "value.predicted");
    json::value theirs = at_path(single.customer(id).json(), "value.predicted");
    ASSERT_TRUE(mine.is_number() && theirs.is_number()) << id;
    EXPECT_NEAR(mine.to_number<double>(), theirs.to_number<double>(), 1e-3 * theirs.to_number<double>() + 1e-9)
        << id;
  }
}

}  // namespace
}  // namespace waymark::it
