// The real Segment Node.js client (@segment/analytics-node, installed into
// tests/integration/segment by scripts/test.sh,
// or by the test itself when missing) pointed at a node: its
// batches, Basic-auth write key and event shapes are accepted as they are.
#include <gtest/gtest.h>

#include <algorithm>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/events.hpp"
#include "support/node.hpp"

namespace waymark::it {
namespace {
namespace json = boost::json;

const std::string kClientDir = std::string(WAYMARK_SOURCE_DIR) + "/tests/integration/segment";

/// True when the client is installed, running `npm ci` once if it is not
/// (CI installs it before the tests; this covers a plain `ctest`).
bool client_installed() {
  const std::string module = kClientDir + "/node_modules/@segment/analytics-node/package.json";
  if (std::filesystem::exists(module))
    return true;
  // Bounded, so an offline machine skips instead of hitting the ctest timeout.
  std::string cmd = "cd " + kClientDir +
                    " && timeout 120 npm ci --no-audit --no-fund --loglevel=error --fetch-retries=1"
                    " --fetch-timeout=30000 > /dev/null 2>&1";
  return std::system(cmd.c_str()) == 0 && std::filesystem::exists(module);
}

TEST(SegmentClient, PageTrackAliasAndIdentifyFromTheRealClientBuildOneMergedCustomer) {
  if (!client_installed())
    GTEST_SKIP() << "@segment/analytics-node could not be installed (`npm ci` in " << kClientDir
                 << " failed: no npm or no registry access); the real-client test did not run";
  NodeOptions o;
  o.config = json::object{{"auth", json::object{{"write_keys", json::array{"seg-key"}}}}};
  Node node(o);
  ASSERT_TRUE(node.start());
  std::string cmd = "node " + kClientDir + "/send.mjs http://127.0.0.1:" + std::to_string(node.http_port()) +
                    " seg-key > " + node.root() + "/segment.log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "the Segment client reported an error; see " << node.root()
                                         << "/segment.log";

  auto c = node.customer("seg-user-1");
  ASSERT_EQ(c.status, 200) << c.describe();
  auto cj = c.json();
  EXPECT_EQ(at_path(cj, "profile.traits.email"), json::value("seg@example.com")) << c.body;
  EXPECT_EQ(at_path(cj, "profile.merged_ids"), json::parse(R"(["seg-anon-1"])")) << c.body;
  std::vector<std::string> names;
  std::vector<std::string> times;
  for (auto& h : array_at(cj, "history")) {
    names.push_back(str_at(h, "name"));
    times.push_back(str_at(h, "at"));
  }
  // The anonymous page view and track came over with the alias. The client
  // sends each call as its own request (flushAt 1), concurrently, so calls
  // made in the same millisecond may arrive in either order: the history is
  // in time order, and the set of events is exact.
  EXPECT_TRUE(std::is_sorted(times.begin(), times.end())) << c.body;
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"Signed Up", "Viewed Plans", "alias", "identify", "page"})) << c.body;
  EXPECT_EQ(node.customer("seg-anon-1").status, 200) << "the anonymous id should resolve to the merged customer";

  // A wrong write key is refused, and the client says so.
  std::string bad = "node " + kClientDir + "/send.mjs http://127.0.0.1:" + std::to_string(node.http_port()) +
                    " wrong-key > " + node.root() + "/segment-bad.log 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
}

}  // namespace
}  // namespace waymark::it
