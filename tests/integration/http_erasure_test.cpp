// Erasure through the HTTP API when the customer's data reached every part of
// the store: an in-app message rendered from the canary trait sits in the
// inbox, the outbox record and the delivery record; after DELETE returns, the
// canary is in no file of the data directory and the inbox route is empty.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "support/events.hpp"
#include "support/node.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

constexpr const char* kCanary = "canary-5b1e-inbox-erasure";

constexpr const char* kInappTemplate = R"({
  "id": "hello_inapp", "channel": "inapp", "title": "Hi {{traits.first_name|there}}", "body": "Welcome"
})";
constexpr const char* kInappJourney = R"({
  "id": "inapp-hello", "name": "In-app hello", "owner": "erasure-tests",
  "entry": {"event": "Signed Up"}, "start": "hello",
  "steps": {"hello": {"type": "send", "channel": "inapp", "template": "hello_inapp", "next": "later"},
            "later": {"type": "wait", "duration": "1d", "next": "done"},
            "done": {"type": "exit"}}
})";

size_t files_containing(const std::string& dir, const std::string& needle) {
  size_t hits = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file())
      continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    hits += bytes.find(needle) != std::string::npos;
  }
  return hits;
}

HttpResponse ingest(Node& node, const std::string& body) {
  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/batch";
  req.body = body;
  return http_request(node.http_port(), req);
}

TEST(HttpErasure, AnInboxMessageRenderedFromTheCanaryIsGoneFromEveryFileAfterTheDelete) {
  NodeOptions o;
  o.config["channels"] = json::object{{"inapp", json::object{{"provider", "inbox"}}}};
  Node node(o);
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.put("/api/templates/hello_inapp", kInappTemplate).status, 201);
  ASSERT_EQ(node.put("/api/journeys/inapp-hello", kInappJourney).status, 201);
  auto r = ingest(node, std::string(R"({"batch":[
      {"type":"identify","userId":"gone","traits":{"first_name":")") + kCanary + R"("},"messageId":"g-1"},
      {"type":"track","userId":"gone","event":"Signed Up","messageId":"g-2"},
      {"type":"identify","userId":"stays","traits":{"first_name":"Kim"}},
      {"type":"track","userId":"stays","event":"Signed Up"}]})");
  ASSERT_EQ(r.status, 200) << r.describe();
  ASSERT_TRUE(node.wait_outbox_drained());
  auto inbox = node.get("/api/customers/gone/inbox");
  ASSERT_EQ(inbox.status, 200) << inbox.describe();
  ASSERT_EQ(array_at(inbox.json(), "messages").size(), 1u) << inbox.body;
  ASSERT_NE(inbox.body.find(kCanary), std::string::npos) << "the message should carry the canary";
  ASSERT_GT(files_containing(node.data_dir(), kCanary), 0u);

  auto del = node.http("DELETE", "/api/customers/gone");
  ASSERT_EQ(del.status, 200) << del.describe();
  EXPECT_EQ(files_containing(node.data_dir(), kCanary), 0u) << "the canary is still readable in the data files";
  EXPECT_TRUE(array_at(node.get("/api/customers/gone/inbox").json(), "messages").empty());
  EXPECT_EQ(array_at(node.get("/api/customers/stays/inbox").json(), "messages").size(), 1u)
    << "another customer's inbox went too";

  // The erased customer's pending timer is gone; the same messageId is new again.
  ASSERT_EQ(node.advance_clock("2d").status, 200);
  EXPECT_EQ(node.customer("gone").status, 404) << "a timer or a late write brought the customer back";
  r = ingest(node, R"({"batch":[{"type":"identify","userId":"gone","traits":{"plan":"b"},"messageId":"g-1"}]})");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(at_path(node.customer("gone").json(), "profile.traits"), json::parse(R"({"plan":"b"})"));
}

}  // namespace
}  // namespace waymark::it
