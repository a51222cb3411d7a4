// A failed commit (issue #12, item 11a): the customer whose write failed is
// restarted from its stored state and its input log with a new epoch, so its
// later events are accepted again; the failed event is nacked "retry" and
// leaves no trace. The real store actor, journey manager and customer actors
// run on a real LMDB in a temporary directory; the failure is injected by the
// store's test hook (Store::fail_next_commit_of), the only stand-in.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "actors/actor_fixture.hpp"

namespace waymark::actor_test {
namespace {

using CommitFailure = ActorNode;

TEST_F(CommitFailure, AfterAFailedCommitTheCustomerRestartsFromItsStoredStateAndItsLaterEventsAreAccepted) {
  uint64_t line = 0;
  ASSERT_TRUE(send("u1", "E1", ++line).acked);
  ASSERT_TRUE(send("other", "O1", ++line).acked);

  ctx_.store->fail_next_commit_of("u1");
  auto failed = send("u1", "E2", ++line);
  EXPECT_FALSE(failed.acked);
  EXPECT_NE(failed.nack.find("fault_injected; retry"), std::string::npos) << failed.nack;

  // Before the fix the actor lived on with E2 in its state (nacked, yet
  // written later with the next snapshot) and was never restarted.
  auto later = send_until_acked("u1", "E3", line);
  ASSERT_TRUE(later.acked) << "last answer: " << later.nack << (later.timed_out ? " (timed out)" : "");
  ASSERT_TRUE(send("u1", "E4", ++line).acked) << "once restarted, the customer's events are acked at once";
  EXPECT_EQ(history("u1"), (std::vector<std::string>{"E1", "E3", "E4"}))
    << "the logged input E1 is replayed into the restart; the failed E2 is gone";
  EXPECT_EQ(ctx_.metrics.customers_restarted.load(), 1u);
  EXPECT_EQ(ctx_.metrics.commit_failures.load(), 1u);
  EXPECT_TRUE(send("other", "O2", ++line).acked) << "another customer is not affected";
}

TEST_F(CommitFailure, AnEventTheOldIncarnationHandledAfterTheFailureIsKeptOnlyWhenAcked) {
  uint64_t line = 0;
  ASSERT_TRUE(send("u3", "E1", ++line).acked);
  ctx_.store->fail_next_commit_of("u3");
  // Two lines at once: the second reaches the store with the failed write or
  // after it; either way its write was computed on top of E2, so it is nacked.
  auto ev = [&](const char* name) {
    return *parse_event(R"({"type":"track","userId":"u3","event":")" + std::string(name) + R"("})",
                        ctx_.config.limits, ctx_.clock->now());
  };
  for (const char* name : {"E2", "E2b"})
    caf::anon_send(ctx_.router.local_managers()[0], event_atom::value, EventMsg{ev(name), AckTarget{origin_, ++line}, ""});
  std::vector<std::string> nacks;  // one NackBatch may answer both lines
  bool timed_out = false;
  while (nacks.size() < 2 && !timed_out)
    origin_->receive([&](acked_atom, const AckBatch& b) { ADD_FAILURE() << "acked line " << b.lines.front(); },
                     [&](nacked_atom, const NackBatch& n) {
                       for (auto& l : n.lines)
                         nacks.push_back(l.second);
                     },
                     caf::after(std::chrono::seconds(5)) >> [&] { timed_out = true; });
  ASSERT_EQ(nacks.size(), 2u);
  auto later = send_until_acked("u3", "E3", line);
  ASSERT_TRUE(later.acked) << later.nack;
  EXPECT_EQ(history("u3"), (std::vector<std::string>{"E1", "E3"})) << nacks[0] << " / " << nacks[1];
}

// The manager sends events to a customer without a request per event and
// keeps their acks until the actor says each is handled: when the actor is
// stopped with a burst still in its mailbox (here by a failed commit), the
// events it did not handle are nacked by the manager, those it handled are
// answered by the store; every line gets exactly one answer.
TEST_F(CommitFailure, EveryLineOfABurstToAStoppedCustomerIsAnsweredOnce) {
  uint64_t line = 0;
  ASSERT_TRUE(send("u5", "E1", ++line).acked);
  ctx_.store->fail_next_commit_of("u5");
  auto ev = [&] {
    return *parse_event(R"({"type":"track","userId":"u5","event":"Burst"})", ctx_.config.limits, ctx_.clock->now());
  };
  const uint64_t first = line + 1, last = line + 300;
  for (uint64_t l = first; l <= last; ++l)
    caf::anon_send(ctx_.router.local_managers()[0], event_atom::value, EventMsg{ev(), AckTarget{origin_, l}, ""});
  std::map<uint64_t, int> answers;
  size_t nacked = 0;
  bool timed_out = false;
  while (answers.size() < last - first + 1 && !timed_out)
    origin_->receive(
      [&](acked_atom, const AckBatch& b) {
        for (auto l : b.lines)
          ++answers[l];
      },
      [&](nacked_atom, const NackBatch& n) {
        for (auto& [l, why] : n.lines) {
          ++answers[l];
          ++nacked;
        }
      },
      caf::after(std::chrono::seconds(10)) >> [&] { timed_out = true; });
  ASSERT_FALSE(timed_out) << answers.size() << " of " << (last - first + 1) << " lines answered";
  for (auto& [l, n] : answers) {
    EXPECT_GE(l, first);
    EXPECT_LE(l, last);
    EXPECT_EQ(n, 1) << "line " << l;
  }
  EXPECT_GE(nacked, 1u);  // the failed one at least
  auto later = send_until_acked("u5", "E3", line = last);
  ASSERT_TRUE(later.acked) << later.nack;
}

TEST_F(CommitFailure, TwoFailuresInARowEachRestartTheCustomer) {
  uint64_t line = 0;
  ASSERT_TRUE(send("u2", "E1", ++line).acked);
  for (int round = 0; round < 2; ++round) {
    ctx_.store->fail_next_commit_of("u2");
    EXPECT_FALSE(send("u2", "X", ++line).acked);
    auto a = send_until_acked("u2", "E" + std::to_string(round + 2), line);
    ASSERT_TRUE(a.acked) << "round " << round << ": " << a.nack;
  }
  EXPECT_EQ(history("u2"), (std::vector<std::string>{"E1", "E2", "E3"}));
  EXPECT_EQ(ctx_.metrics.customers_restarted.load(), 2u);
}

}  // namespace
}  // namespace waymark::actor_test

namespace waymark::actor_test {
namespace {

using MergeCommitFailure = ActorNode;

/// A merge whose commit failed moved nothing: the merged id is its own
/// customer again (its redirect goes, its logged inputs are replayed), so the
/// alias sent again merges its whole state.
TEST_F(MergeCommitFailure, AnAliasWhoseCommitFailedMergesTheWholeStateWhenSentAgain) {
  uint64_t line = 0;
  ASSERT_TRUE(send("anon", "A1", ++line).acked);  // logged, not yet in a snapshot
  ASSERT_TRUE(send("known", "K1", ++line).acked);
  const std::string alias = R"({"type":"alias","userId":"known","previousId":"anon"})";
  ctx_.store->fail_next_commit_of("known");
  auto failed = send_json(alias, ++line);
  EXPECT_NE(failed.nack.find("fault_injected; retry"), std::string::npos) << failed.nack;
  auto again = send_json_until_acked(alias, line);
  ASSERT_TRUE(again.acked) << again.nack;
  auto names = history("known");
  EXPECT_EQ(std::count(names.begin(), names.end(), "A1"), 1) << "the anonymous history was lost";
  EXPECT_EQ(std::count(names.begin(), names.end(), "K1"), 1);
  ASSERT_TRUE(send("anon", "A2", ++line).acked);
  names = history("known");
  EXPECT_EQ(std::count(names.begin(), names.end(), "A2"), 1) << "a later event of the merged id went elsewhere";
}

}  // namespace
}  // namespace waymark::actor_test
