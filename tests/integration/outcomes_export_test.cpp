// Warehouse export (PRODUCT.md §10): GET /api/export/{touches|conversions|
// deliveries}?from&to streams NDJSON in chunks, one object per record of the
// range; erasure removes a customer's lines; bad kinds and ranges are refused.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "support/events.hpp"
#include "support/node.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

const char* kWelcome = R"({"id":"welcome","entry":{"event":"Signed Up"},"start":"hello","steps":{
  "hello":{"type":"send","channel":"note","template":"t_note","next":"end"},"end":{"type":"exit"}}})";

HttpResponse ingest(Node& node, const std::string& events) {
  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/batch";
  req.body = "{\"batch\":[" + events + "]}";
  req.timeout_ms = 30000;
  return http_request(node.http_port(), req);
}

std::vector<json::value> lines_of(const HttpResponse& r) {
  std::vector<json::value> out;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);)
    out.push_back(parse_json(line));
  return out;
}

constexpr int kCustomers = 1500;  // three pages of 512 records and a bit

TEST(OutcomesExport, RangesStreamAsNdjsonAndErasureRemovesTheCustomersLines) {
  NodeOptions o;
  o.config["channels"] = json::object{{"note", json::object{{"provider", "file"}, {"address_trait", ""}}}};
  Node node(o);
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.post("/api/clock", R"({"set":"2030-01-01T00:00:00Z"})").status, 200);
  ASSERT_EQ(node.deploy_template(R"({"id":"t_note","channel":"note","text":"hi"})").status, 201);
  ASSERT_EQ(node.deploy_journey(kWelcome).status, 201);
  for (int first = 0; first < kCustomers; first += 500) {
    std::string events;
    for (int i = first; i < first + 500; ++i)
      events += (i > first ? "," : "") + track("c" + std::to_string(i), "Signed Up");
    ASSERT_EQ(ingest(node, events).status, 200);
  }
  std::string orders;
  for (int i = 0; i < 10; ++i)
    orders += (i ? "," : "") + json::serialize(json::object{{"type", "track"},
                                                           {"userId", "c" + std::to_string(i)},
                                                           {"event", "Order Completed"},
                                                           {"properties", json::object{{"revenue", i + 0.5}}},
                                                           {"timestamp", "2030-01-01T01:00:00Z"}});
  ASSERT_EQ(ingest(node, orders).status, 200);
  ASSERT_TRUE(node.wait_outbox_drained());

  const std::string day = "from=2030-01-01T00:00:00Z&to=2030-01-02T00:00:00Z";
  auto touches = node.get("/api/export/touches?" + day);
  ASSERT_EQ(touches.status, 200) << touches.describe();
  EXPECT_EQ(touches.headers["content-type"], "application/x-ndjson");
  EXPECT_EQ(touches.headers["transfer-encoding"], "chunked");
  auto lines = lines_of(touches);
  ASSERT_EQ(lines.size(), size_t(kCustomers));
  std::set<std::string> customers, ids;
  for (auto& l : lines) {
    customers.insert(str_at(l, "customer"));
    ids.insert(str_at(l, "delivery_id"));
    EXPECT_EQ(str_at(l, "journey"), "welcome");
    EXPECT_EQ(str_at(l, "step"), "hello");
    EXPECT_EQ(str_at(l, "channel"), "note");
    EXPECT_EQ(str_at(l, "template"), "t_note");
    EXPECT_EQ(str_at(l, "at"), "2030-01-01T00:00:00.000Z");
  }
  EXPECT_EQ(customers.size(), size_t(kCustomers));
  EXPECT_EQ(ids.size(), size_t(kCustomers));
  // [from, to): a range starting 1 ms after the sends holds none of them
  EXPECT_EQ(node.get("/api/export/touches?from=2030-01-01T00:00:00.001Z&to=2030-01-02T00:00:00Z").body, "");

  auto conversions = lines_of(node.get("/api/export/conversions?" + day));
  ASSERT_EQ(conversions.size(), 10u);
  double sum = 0;
  for (auto& c : conversions) {
    EXPECT_EQ(str_at(c, "event"), "Order Completed");
    EXPECT_EQ(str_at(c, "at"), "2030-01-01T01:00:00.000Z");
    sum += c.at("value").to_number<double>();
  }
  EXPECT_DOUBLE_EQ(sum, 50);  // 0.5 + 1.5 + ... + 9.5

  auto deliveries = lines_of(node.get("/api/export/deliveries?" + day));
  ASSERT_EQ(deliveries.size(), size_t(kCustomers));
  for (auto& d : deliveries)
    EXPECT_EQ(str_at(d, "status"), "delivered") << json::serialize(d);

  ASSERT_EQ(node.http("DELETE", "/api/customers/c0").status, 200);
  EXPECT_EQ(lines_of(node.get("/api/export/touches?" + day)).size(), size_t(kCustomers - 1));
  auto left = lines_of(node.get("/api/export/conversions?" + day));
  EXPECT_EQ(left.size(), 9u);
  for (auto& c : left)
    EXPECT_NE(str_at(c, "customer"), "c0");
  auto value = node.customer("c1");
  EXPECT_EQ(int_at(at_path(value.json(), "value"), "conversions"), 1) << value.body;

  EXPECT_EQ(node.get("/api/export/orders?" + day).status, 404);
  EXPECT_EQ(node.get("/api/export/touches?to=2030-01-02T00:00:00Z").status, 400);
  EXPECT_EQ(node.get("/api/export/touches?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z").status, 400);
  EXPECT_EQ(node.get("/api/export/touches?from=soon&to=2030-01-01T00:00:00Z").status, 400);
}

}  // namespace
}  // namespace waymark::it
