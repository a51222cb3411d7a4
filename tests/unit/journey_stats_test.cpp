// A journey's stats view (src/core/journey_stats.cpp) from the store's
// counters: totals, exits by reason, per-step counts and "active now", and
// conversions (goal count and value sum) per version and in total.
#include "waymark/journey_stats.hpp"

#include <gtest/gtest.h>

namespace waymark {
namespace {
namespace json = boost::json;

std::string key(int version, const std::string& step, const std::string& counter) {
  return std::to_string(version) + '\0' + step + '\0' + counter;
}

TEST(JourneyStats, ConversionsAreCountedWithTheirValuePerVersionAndInTotal) {
  std::map<std::string, int64_t> counters{
    {key(1, "", "entered"), 3},          {key(1, "", "goal"), 2},
    {key(1, "", "goal_value"), 150},     {key(1, "w", "exited:goal"), 2},
    {key(2, "", "entered"), 4},          {key(2, "", "goal"), 1},
    {key(2, "", "goal_value"), 20},      {key(2, "w", "exited:goal"), 1},
    {key(2, "w", "visited"), 5},         {key(2, "w", "exited:timeout"), 1},
  };
  json::object s = journey_stats_json(counters, 3);
  EXPECT_EQ(s.at("entered"), 7);
  EXPECT_EQ(s.at("active"), 3);
  EXPECT_EQ(s.at("conversions"), (json::value{{"count", 3}, {"value", 170}}));
  EXPECT_EQ(s.at("exited"), (json::value{{"goal", 3}, {"timeout", 1}}));
  const json::array& by_version = s.at("by_version").as_array();
  ASSERT_EQ(by_version.size(), 3u) << "every deployed version, zeros included";
  EXPECT_EQ(by_version[0], (json::value{{"version", 1}, {"entered", 3}, {"active", 1},
                                        {"conversions", {{"count", 2}, {"value", 150}}}}));
  EXPECT_EQ(by_version[1].at("conversions"), (json::value{{"count", 1}, {"value", 20}}));
  EXPECT_EQ(by_version[1].at("active"), 2);
  EXPECT_EQ(by_version[2].at("conversions"), (json::value{{"count", 0}, {"value", 0}}));
  EXPECT_EQ(s.at("steps").at("w").at("active"), 1) << "visited 5 - exited 4 there (both versions)";
}

TEST(JourneyStats, NoCountersGiveZeros) {
  json::object s = journey_stats_json({}, 1);
  EXPECT_EQ(s.at("conversions"), (json::value{{"count", 0}, {"value", 0}}));
  EXPECT_EQ(s.at("by_version").as_array().size(), 1u);
  EXPECT_TRUE(s.at("steps").as_object().empty());
}

}  // namespace
}  // namespace waymark
