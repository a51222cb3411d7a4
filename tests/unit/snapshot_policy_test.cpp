// When a customer's state is stored instead of its input logged (snapshot_due).
#include <gtest/gtest.h>

#include "waymark/snapshot_policy.hpp"

namespace waymark {
namespace {

TEST(SnapshotPolicy, NeverBeforeEveryInputs) {
  EXPECT_FALSE(snapshot_due(15, 1000000, 0, 16));
  EXPECT_TRUE(snapshot_due(16, 0, 0, 16));  // no state stored yet: at `every`
}

TEST(SnapshotPolicy, EveryOneStoresEachInput) {
  EXPECT_TRUE(snapshot_due(1, 10, 1000000, 1));
}

TEST(SnapshotPolicy, ASmallStateIsStoredEveryEveryInputs) {
  // 2,000-byte state, 300-byte inputs: 16 inputs log 4,800 bytes >= 2,000.
  EXPECT_TRUE(snapshot_due(16, 16 * 300, 2000, 16));
}

TEST(SnapshotPolicy, ALargeStateWaitsUntilAsManyBytesAreLogged) {
  // 60,000-byte state (a long history), 300-byte inputs: not at 16 (4,800
  // bytes), not at 199 (59,700), at 200 (60,000): 300 bytes of state written
  // per input instead of 3,750.
  EXPECT_FALSE(snapshot_due(16, 16 * 300, 60000, 16));
  EXPECT_FALSE(snapshot_due(199, 199 * 300, 60000, 16));
  EXPECT_TRUE(snapshot_due(200, 200 * 300, 60000, 16));
}

TEST(SnapshotPolicy, AtMost4096InputsBetweenSnapshots) {
  // A 10 MB state and 100-byte inputs would wait 100,000 inputs.
  EXPECT_FALSE(snapshot_due(4095, 409500, 10000000, 16));
  EXPECT_TRUE(snapshot_due(4096, 409600, 10000000, 16));
}

}  // namespace
}  // namespace waymark
