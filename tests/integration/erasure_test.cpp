// DELETE /api/customers/{id} (PRODUCT.md §6): the customer is gone from every
// part of the store, its bytes are no longer in the data directory's files,
// and a later event for the same id starts a fresh customer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "support/events.hpp"
#include "support/fixtures.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

/// Paths of the files under `dir` that contain `needle`.
std::vector<std::string> files_containing(const std::string& dir, const std::string& needle) {
  std::vector<std::string> hits;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file())
      continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos)
      hits.push_back(e.path().string());
  }
  return hits;
}

TEST(Erasure, ACanaryTraitIsUnreadableInTheDataFilesAfterTheDeleteReturns) {
  Node node;
  ASSERT_TRUE(node.start());
  ASSERT_EQ(node.deploy_template(fixtures::kWelcomeTemplate).status, 201);
  ASSERT_EQ(node.deploy_template(fixtures::kReminderTemplate).status, 201);
  ASSERT_EQ(node.deploy_journey(fixtures::kOnboardingJourney).status, 201);
  const std::string canary = "canary-7f3a9c1e-secret";
  TcpClient c;
  ASSERT_TRUE(c.connect(node.tcp_port()));
  // The anonymous visit is aliased into x1, so the merged id must go too.
  ASSERT_TRUE(c.send_line(R"({"type":"track","anonymousId":"anon-x1","event":"Page Viewed","messageId":"x-0"})"));
  ASSERT_TRUE(c.send_line(R"({"type":"alias","previousId":"anon-x1","userId":"x1","messageId":"x-1"})"));
  ASSERT_TRUE(c.send_line(identify("x1", {{"email", "x1@example.com"}, {"favourite", canary}}, "x-2")));
  ASSERT_TRUE(c.send_line(track("x1", "Signed Up", {}, "x-3")));
  ASSERT_TRUE(c.send_line(identify("keep", {{"email", "keep@example.com"}}, "k-1")));
  ASSERT_TRUE(c.wait_ack(5)) << c.transcript();
  ASSERT_TRUE(node.wait_outbox_drained());
  ASSERT_FALSE(files_containing(node.data_dir(), canary).empty()) << "the canary should be on disk before the delete";

  auto del = node.http("DELETE", "/api/customers/x1");
  ASSERT_EQ(del.status, 200) << del.describe();
  EXPECT_TRUE(files_containing(node.data_dir(), canary).empty())
    << "still readable in " << files_containing(node.data_dir(), canary).front();
  EXPECT_EQ(node.customer("x1").status, 404);
  EXPECT_EQ(node.customer("anon-x1").status, 404);
  EXPECT_EQ(node.customer("keep").status, 200) << "another customer was erased too";
  EXPECT_EQ(node.http("DELETE", "/api/customers/x1").status, 404);

  // The pending 2-day reminder went with it; a new event starts afresh.
  ASSERT_EQ(node.advance_clock("3d").status, 200);
  ASSERT_TRUE(c.send_line(identify("x1", {{"plan", "new"}}, "x-9")));
  ASSERT_TRUE(c.wait_ack(6)) << c.transcript();
  auto fresh = node.customer("x1");
  ASSERT_EQ(fresh.status, 200) << fresh.describe();
  EXPECT_EQ(at_path(fresh.json(), "profile.traits"), json::parse(R"({"plan":"new"})"));
  EXPECT_TRUE(array_at(fresh.json(), "instances").empty()) << fresh.body;
  ASSERT_TRUE(node.wait_outbox_drained());
  EXPECT_TRUE(files_containing(node.data_dir() + "/outbox", "Still there").empty())
    << "the erased customer's reminder was still sent";
}

}  // namespace
}  // namespace waymark::it
