// Engagement feedback through the real binary (PRODUCT.md §10): a journey
// sends an email (file provider) with tracked links, a click on a link (302 to
// the template's URL) records "Message Clicked" that ends a wait_event, and
// the next step sends; tampered links are 404 and record nothing; providers'
// callbacks count once per type; final delivery statuses reach a wait_event.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <regex>
#include <string>
#include <thread>

#include "support/cli.hpp"
#include "support/events.hpp"
#include "support/node.hpp"
#include "support/outbox.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

constexpr const char* kWriteKey = "wk-engage";
constexpr const char* kAdmin = "admin-engage";
const std::string kDeal = "https://shop.example.com/deal?x=1&y=2";
const std::string kOther = "https://shop.example.com/other";

constexpr const char* kPromoTemplate = R"J({"id":"promo","channel":"email","subject":"A deal",
  "body":"Deal: {{link \"https://shop.example.com/deal?x=1&y=2\"}} or {{link \"https://shop.example.com/other\"}} (ref {{delivery.id}})"})J";
constexpr const char* kThanksTemplate = R"({"id":"thanks","channel":"email","subject":"Thanks","body":"Thanks for looking"})";
// Sends the promo, waits for a click on it, then sends thanks.
constexpr const char* kPromoJourney = R"({"id":"promo","entry":{"event":"Promo Start"},"start":"send_promo","steps":{
  "send_promo":{"type":"send","channel":"email","template":"promo","next":"wait_click"},
  "wait_click":{"type":"wait_event","event":"Message Clicked",
                "when":{"path":"event.properties.step","op":"eq","value":"send_promo"},
                "timeout":"3d","next":"thank","timeout_next":"done"},
  "thank":{"type":"send","channel":"email","template":"thanks","next":"done"},
  "done":{"type":"exit"}}})";
// Sends the promo, waits for its delivery, then sends thanks.
constexpr const char* kDeliveredJourney = R"({"id":"delivered","entry":{"event":"Deliver Start"},"start":"first","steps":{
  "first":{"type":"send","channel":"email","template":"promo","next":"wait_delivered"},
  "wait_delivered":{"type":"wait_event","event":"Message Delivered",
                    "when":{"path":"event.properties.step","op":"eq","value":"first"},
                    "timeout":"3d","next":"second","timeout_next":"done"},
  "second":{"type":"send","channel":"email","template":"thanks","next":"done"},
  "done":{"type":"exit"}}})";

NodeOptions options() {
  NodeOptions o;
  o.config = json::object{{"auth", json::object{{"write_keys", json::array{kWriteKey}},
                                                {"admin_tokens", json::array{kAdmin}}}}};
  o.admin_token = kAdmin;
  return o;
}

::testing::AssertionResult send_acked(Node& node, const std::vector<std::string>& lines) {
  TcpClient c;
  if (!c.connect(node.tcp_port()) || !c.send_line(std::string(R"({"type":"hello","writeKey":")") + kWriteKey + "\"}"))
    return ::testing::AssertionFailure() << c.last_error();
  for (const auto& l : lines)
    if (!c.send_line(l))
      return ::testing::AssertionFailure() << c.last_error();
  if (!c.wait_ack(lines.size() + 1) || !c.nacks().empty())  // + the hello line
    return ::testing::AssertionFailure() << "not acked: " << c.transcript();
  return ::testing::AssertionSuccess();
}

/// Polls the file outbox until `n` email records of `journey` are there.
std::vector<json::object> wait_records(Node& node, const std::string& journey, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<json::object> records;
  while (std::chrono::steady_clock::now() < deadline) {
    records = read_outbox(node.data_dir(), "email").where("journey", journey);
    if (records.size() >= n)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // bounded poll
  }
  return records;
}

struct Link {
  std::string path;  // "/r/<delivery>/<n>/<sig>"
  std::string delivery, n, sig;
};

/// The tracked links of a rendered body, in order; they must point at this node.
std::vector<Link> links_in(const std::string& body, uint16_t port) {
  std::vector<Link> out;
  const std::regex re("http://127\\.0\\.0\\.1:" + std::to_string(port) + "(/r/([a-z0-9]+)/([0-9]+)/([A-Za-z0-9_-]{22}))");
  for (std::sregex_iterator it(body.begin(), body.end(), re), end; it != end; ++it)
    out.push_back(Link{(*it)[1], (*it)[2], (*it)[3], (*it)[4]});
  return out;
}

int history_count(Node& node, const std::string& customer, const std::string& name) {
  int n = 0;
  for (auto& h : array_at(node.customer(customer).json(), "history"))
    n += str_at(h, "name") == name ? 1 : 0;
  return n;
}

json::value step_stats(Node& node, const std::string& journey, const std::string& step) {
  return at_path(node.get("/api/journeys/" + journey).json(), "stats.steps." + step);
}

int64_t metric(Node& node, const std::string& name) {
  auto body = node.get("/metrics").body;
  std::smatch m;
  if (!std::regex_search(body, m, std::regex("\n" + name + " ([0-9]+)")))
    return -1;
  return std::stoll(m[1]);
}

HttpResponse callback(Node& node, const std::string& delivery, const std::string& body, bool with_key = true) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/api/deliveries/" + delivery + "/events";
  r.body = body;
  if (with_key)
    r.headers.emplace_back("Authorization", basic_auth(kWriteKey));
  return http_request(node.http_port(), r);
}

/// Polls until `pred` holds (at most 10 s).
template <class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // bounded poll
  }
  return pred();
}

struct Engagement : ::testing::Test {
  Node node{options()};
  json::object promo;  // the promo record of u1

  void SetUp() override {
    ASSERT_TRUE(node.start());
    ASSERT_EQ(node.deploy_template(kPromoTemplate).status, 201);
    ASSERT_EQ(node.deploy_template(kThanksTemplate).status, 201);
    // A journey that waits for "Message Delivered": final statuses are
    // events only when some journey reacts to them (NOTES.md).
    ASSERT_EQ(node.deploy_journey(kDeliveredJourney).status, 201);
    ASSERT_EQ(node.deploy_journey(kPromoJourney).status, 201);
    ASSERT_TRUE(send_acked(node, {identify("u1", {{"email", "u1@example.com"}}), track("u1", "Promo Start")}));
    auto records = wait_records(node, "promo", 1);
    ASSERT_EQ(records.size(), 1u);
    promo = records[0];
  }
};

TEST_F(Engagement, AClickRedirectsToTheTemplatesUrlEndsTheWaitAndTheNextStepSends) {
  const std::string id = field(promo, "id");
  const std::string body = field(promo, "content.body");
  EXPECT_NE(body.find("(ref " + id + ")"), std::string::npos) << "{{delivery.id}} is the record's id: " << body;
  auto links = links_in(body, node.http_port());
  ASSERT_EQ(links.size(), 2u) << body;
  EXPECT_EQ(links[0].delivery, id);
  EXPECT_EQ(links[0].n, "0");
  EXPECT_EQ(links[1].n, "1");

  auto r = node.get(links[1].path);
  ASSERT_EQ(r.status, 302) << r.describe();
  EXPECT_EQ(r.headers["location"], kOther) << "the second link's target, as the template named it";
  auto records = wait_records(node, "promo", 2);
  ASSERT_EQ(records.size(), 2u) << "the click ended the wait and the thanks step sent";
  EXPECT_EQ(field(records[1], "step"), "thank");

  json::value clicked;
  for (auto& h : array_at(node.customer("u1").json(), "history"))
    if (str_at(h, "name") == "Message Clicked")
      clicked = h;
  ASSERT_TRUE(clicked.is_object());
  EXPECT_EQ(at_path(clicked, "properties"),
            (json::value{{"delivery_id", id}, {"journey", "promo"}, {"version", 1}, {"step", "send_promo"},
                         {"channel", "email"}, {"url_index", 1}}));
  auto stats = step_stats(node, "promo", "send_promo");
  EXPECT_EQ(at_path(stats, "engagement.clicked"), 1) << stats;
  EXPECT_EQ(at_path(stats, "rates.click"), 1.0) << "1 click / 1 sent";
  EXPECT_EQ(at_path(stats, "rates.open"), 0.0);

  // The same link again, and the other link, still redirect; the message's
  // click is counted once (the first one's url_index stays).
  r = node.get(links[1].path);
  ASSERT_EQ(r.status, 302);
  r = node.get(links[0].path);
  ASSERT_EQ(r.status, 302);
  EXPECT_EQ(r.headers["location"], kDeal);
  EXPECT_EQ(history_count(node, "u1", "Message Clicked"), 1);
  EXPECT_EQ(at_path(step_stats(node, "promo", "send_promo"), "engagement.clicked"), 1);
  EXPECT_EQ(metric(node, "waymark_links_followed_total"), 3);

  // The CLI's journey view: sent 1, delivered 1 (status events are recorded
  // after their statuses: promo and thanks), 0 opens, 1 click, 0 bounces,
  // rates 0 %, 100 %, 0 %.
  ASSERT_TRUE(eventually([&] { return history_count(node, "u1", "Message Delivered") == 2; }));
  auto cli = waymark("journey promo --url http://127.0.0.1:" + std::to_string(node.http_port()) + " --token " + kAdmin);
  ASSERT_EQ(cli.code, 0) << cli.out;
  EXPECT_TRUE(std::regex_search(cli.out, std::regex("OPEN RATE +CLICK RATE +BOUNCE RATE"))) << cli.out;
  EXPECT_TRUE(std::regex_search(
      cli.out, std::regex("\nsend_promo +1 +1 +0 +1 +0 +0\\.0% +100\\.0% +0\\.0%")))
      << cli.out;
}

TEST_F(Engagement, TamperedOrUnknownLinksAre404AndRecordNothing) {
  auto links = links_in(field(promo, "content.body"), node.http_port());
  ASSERT_EQ(links.size(), 2u);
  const Link& l = links[0];
  std::string flipped = l.sig;
  flipped[0] = flipped[0] == 'A' ? 'B' : 'A';
  const std::vector<std::string> bad = {
      "/r/" + l.delivery + "/0/" + flipped,                      // signature changed
      "/r/" + l.delivery + "/1/" + l.sig,                        // another link's index
      "/r/" + l.delivery + "/2/" + l.sig,                        // no such link
      "/r/d00000000000000000000000000000000/0/" + l.sig,         // no such delivery
      "/r/" + l.delivery + "/x/" + l.sig,                        // not an index
      "/r/" + l.delivery + "/0/" + l.sig.substr(0, 21),          // truncated
  };
  for (auto& path : bad) {
    auto r = node.get(path);
    EXPECT_EQ(r.status, 404) << path << ": " << r.describe();
    EXPECT_EQ(r.headers.count("location"), 0u) << path;
  }
  EXPECT_EQ(metric(node, "waymark_links_refused_total"), 6);
  EXPECT_EQ(history_count(node, "u1", "Message Clicked"), 0);
  EXPECT_FALSE(at_path(step_stats(node, "promo", "send_promo"), "engagement").is_object());
  EXPECT_EQ(wait_records(node, "promo", 1).size(), 1u) << "still waiting: nothing was clicked";
  auto c = node.customer("u1").json();
  ASSERT_EQ(array_at(c, "instances").size(), 1u);
  EXPECT_EQ(str_at(array_at(c, "instances")[0], "step"), "wait_click");
}

TEST_F(Engagement, CallbacksCountOncePerTypeAndBadOnesChangeNothing) {
  const std::string id = field(promo, "id");
  for (int i = 0; i < 3; ++i) {
    auto r = callback(node, id, R"({"type":"opened"})");
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.json(), (json::value{{"success", true}}));
  }
  ASSERT_EQ(callback(node, id, R"({"type":"bounced"})").status, 200);
  EXPECT_EQ(history_count(node, "u1", "Message Opened"), 1) << "the same type counts once";
  EXPECT_EQ(history_count(node, "u1", "Message Bounced"), 1);
  auto stats = step_stats(node, "promo", "send_promo");
  EXPECT_EQ(at_path(stats, "engagement"), (json::value{{"opened", 1}, {"bounced", 1}})) << stats;
  EXPECT_EQ(at_path(stats, "rates.open"), 1.0);
  EXPECT_EQ(at_path(stats, "rates.bounce"), 1.0);

  struct Bad {
    std::string delivery, body;
    int status;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {id, R"({"type":"read"})", 400, "type must be one of"},
      {id, R"({"type":"delivered"})", 400, "type must be one of"},
      {id, R"({"type":"opened","extra":1})", 400, "has only"},
      {id, R"(not json)", 400, ""},
      {"d00000000000000000000000000000000", R"({"type":"opened"})", 404, "unknown delivery"},
  };
  for (auto& b : bad) {
    auto r = callback(node, b.delivery, b.body);
    EXPECT_EQ(r.status, b.status) << b.body << ": " << r.describe();
    EXPECT_NE(r.body.find(b.message), std::string::npos) << r.body;
  }
  EXPECT_EQ(callback(node, id, R"({"type":"clicked"})", false).status, 401) << "the write key is required";
  EXPECT_EQ(history_count(node, "u1", "Message Clicked"), 0);
  EXPECT_EQ(at_path(step_stats(node, "promo", "send_promo"), "engagement"),
            (json::value{{"opened", 1}, {"bounced", 1}}));

  // An erased customer's delivery is unknown. (First the promo's own
  // "Message Delivered": an event on its way during the erase would start a
  // fresh customer, see NOTES.md.)
  ASSERT_TRUE(eventually([&] { return history_count(node, "u1", "Message Delivered") == 1; }));
  ASSERT_EQ(node.http("DELETE", "/api/customers/u1").status, 200);
  auto r = callback(node, id, R"({"type":"complained"})");
  EXPECT_EQ(r.status, 404) << r.describe();
  EXPECT_EQ(node.get(links_in(field(promo, "content.body"), node.http_port())[0].path).status, 404);
  EXPECT_EQ(node.customer("u1").status, 404) << "nothing recreated the erased customer";
}

TEST(EngagementStatusEvents, AFinalStatusNoJourneyReactsToIsCountedButNotAnEvent) {
  // Only the promo journey (it waits for "Message Clicked"): nothing reacts to
  // "Message Delivered", so the delivery is counted per step and no event is
  // run through the customer (NOTES.md).
  Node node{options()};
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.deploy_template(kPromoTemplate).status, 201);
  ASSERT_EQ(node.deploy_template(kThanksTemplate).status, 201);
  ASSERT_EQ(node.deploy_journey(kPromoJourney).status, 201);
  ASSERT_TRUE(send_acked(node, {identify("u1", {{"email", "u1@example.com"}}), track("u1", "Promo Start")}));
  ASSERT_EQ(wait_records(node, "promo", 1).size(), 1u);
  ASSERT_TRUE(eventually([&] { return at_path(step_stats(node, "promo", "send_promo"), "delivery.delivered") == 1; }))
      << step_stats(node, "promo", "send_promo");
  ASSERT_TRUE(send_acked(node, {track("u1", "Ping")}));  // a later commit of u1: an owed event would be before it
  EXPECT_EQ(history_count(node, "u1", "Message Delivered"), 0) << node.customer("u1").body;
  EXPECT_EQ(at_path(node.get("/api/stats").json(), "status_events_owed"), 0);
  // Once a journey waits for it, the next delivery's status is an event.
  ASSERT_EQ(node.deploy_journey(kDeliveredJourney).status, 201);
  ASSERT_TRUE(send_acked(node, {identify("u2", {{"email", "u2@example.com"}}), track("u2", "Deliver Start")}));
  EXPECT_EQ(wait_records(node, "delivered", 2).size(), 2u) << "Message Delivered ended u2's wait";
}

TEST_F(Engagement, AFinalStatusIsAnEventThatEndsAWaitOnceAcrossRestarts) {
  ASSERT_TRUE(send_acked(node, {identify("u2", {{"email", "u2@example.com"}}), track("u2", "Deliver Start")}));
  auto records = wait_records(node, "delivered", 2);
  ASSERT_EQ(records.size(), 2u) << "Message Delivered of the first send ended the wait";
  EXPECT_EQ(field(records[1], "step"), "second");
  ASSERT_TRUE(eventually([&] { return history_count(node, "u2", "Message Delivered") == 2; }))
      << "one per delivery: " << node.customer("u2").body;
  json::value first;
  for (auto& h : array_at(node.customer("u2").json(), "history"))
    if (str_at(h, "name") == "Message Delivered" && at_path(h, "properties.step") == "first")
      first = h;
  EXPECT_EQ(at_path(first, "properties"), (json::value{{"delivery_id", field(records[0], "id")},
                                                       {"journey", "delivered"},
                                                       {"version", 1},
                                                       {"step", "first"},
                                                       {"channel", "email"}}));
  // u1's promo was delivered too: its event is recorded (a journey reacts to
  // the name, though u1 is in none that waits for it).
  ASSERT_TRUE(eventually([&] { return history_count(node, "u1", "Message Delivered") == 1; }));

  ASSERT_EQ(node.terminate(), 0);
  ASSERT_TRUE(node.restart());
  // Nothing is owed after a clean stop, and nothing is sent twice.
  ASSERT_TRUE(send_acked(node, {track("u2", "Ping")}));  // any committed event: the node has been running
  EXPECT_EQ(history_count(node, "u2", "Message Delivered"), 2);
  EXPECT_EQ(history_count(node, "u1", "Message Delivered"), 1);
  EXPECT_EQ(read_outbox(node.data_dir(), "email").where("journey", "delivered").size(), 2u);

  // kill -9 right after u3's entry is acked: its first delivery, its status
  // and its event may each be done or not. After the restart every delivery of
  // u3 has exactly one "Message Delivered", and the wait still ends.
  ASSERT_TRUE(send_acked(node, {identify("u3", {{"email", "u3@example.com"}}), track("u3", "Deliver Start")}));
  node.kill9();
  ASSERT_TRUE(node.restart());
  ASSERT_EQ(wait_records(node, "delivered", 4).size(), 4u) << "u3's two sends";
  ASSERT_TRUE(node.wait_outbox_drained()) << "statuses and their events committed";
  std::map<std::string, int> per_delivery;
  for (auto& h : array_at(node.customer("u3").json(), "history"))
    if (str_at(h, "name") == "Message Delivered")
      ++per_delivery[str_at(at_path(h, "properties"), "delivery_id")];
  std::map<std::string, int> expected;
  for (auto& r : read_outbox(node.data_dir(), "email").where("customer", "u3"))
    expected[field(r, "id")] = 1;
  EXPECT_EQ(expected.size(), 2u);
  EXPECT_EQ(per_delivery, expected);
}

}  // namespace
}  // namespace waymark::it
