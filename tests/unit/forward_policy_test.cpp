// When a forwarded event is given up on (cluster::forward_late), by hand.
#include <gtest/gtest.h>

#include "waymark/forward_policy.hpp"

namespace waymark::cluster {
namespace {

// timeout 2,000 ms throughout; times in ms.
TEST(ForwardPolicy, NotLateBeforeTheTimeout) {
  EXPECT_FALSE(forward_late(1000, 0, 2999, 2000));  // waited 1,999, owner silent since 0
}

TEST(ForwardPolicy, LateAfterTheTimeoutWhenTheOwnerIsSilent) {
  EXPECT_TRUE(forward_late(1000, 0, 3000, 2000));      // waited 2,000, silent 3,000
  EXPECT_TRUE(forward_late(1000, 1000, 3000, 2000));   // silent exactly 2,000
}

TEST(ForwardPolicy, ABusyOwnerThatAnswersIsWaitedFor) {
  EXPECT_FALSE(forward_late(1000, 4500, 5000, 2000));   // waited 4,000, last answer 500 ago
  EXPECT_FALSE(forward_late(1000, 3001, 5000, 2000));   // silent 1,999
  EXPECT_TRUE(forward_late(1000, 3000, 5000, 2000));    // silent 2,000
}

TEST(ForwardPolicy, TenTimeoutsAreTheLimitWhateverTheOwnerDoes) {
  EXPECT_FALSE(forward_late(1000, 20999, 20999, 2000));  // waited 19,999
  EXPECT_TRUE(forward_late(1000, 21000, 21000, 2000));   // waited 20,000, answered just now
}

}  // namespace
}  // namespace waymark::cluster
