// A failed commit (issue #12, item 11a): the customer whose write failed is
// restarted from its stored state and its input log with a new epoch, so its
// later events are accepted again; the failed event is nacked "retry" and
// leaves no trace. The real store actor, journey manager and customer actors
// run on a real LMDB in a temporary directory; the failure is injected by the
// store's test hook (Store::fail_next_commit_of), the only stand-in.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "actors/journey_manager.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/store_actor.hpp"
#include "support/temp_dir.hpp"
#include "waymark/json.hpp"

namespace waymark {
namespace {

/// The answer to one event line: acked, or nacked with a reason.
struct Answer {
  bool acked = false;
  std::string nack;  // empty when acked or when nothing came
  bool timed_out = false;
};

class CommitFailure : public ::testing::Test {
protected:
  void SetUp() override {
    auto store = Store::open(dir_.path(), 64);
    ASSERT_TRUE(store) << store.error().message;
    ctx_.store = std::shared_ptr<Store>(std::move(*store));
    ctx_.clock = std::make_shared<Clock>(true, 1'700'000'000'000);
    ctx_.config.limits.snapshot_every = 4;  // the first inputs go to the log, not into a snapshot
    ctx_.config.limits.commit_delay_us_max = 0;  // lines sent together may commit apart
    ctx_.store_actor = spawn_store_actor(sys_, &ctx_);
    ctx_.managers.push_back(spawn_journey_manager(sys_, &ctx_, 0));
  }

  void TearDown() override {
    caf::anon_send(ctx_.managers[0], shutdown_atom::value);
    caf::anon_send_exit(ctx_.store_actor, caf::exit_reason::user_shutdown);
    ctx_.managers.clear();  // the system waits for its detached store actor until no handle is left
    ctx_.store_actor = nullptr;
    sys_.await_actors_before_shutdown(false);
  }

  /// Sends a track of `event` for `user` as line `line` and waits for its answer.
  Answer send(const std::string& user, const std::string& event, uint64_t line) {
    auto ev = parse_event(R"({"type":"track","userId":")" + user + R"(","event":")" + event + R"("})",
                          ctx_.config.limits, ctx_.clock->now());
    EXPECT_TRUE(ev) << ev.error().message;
    caf::anon_send(ctx_.managers[0], event_atom::value, EventMsg{std::move(*ev), AckTarget{origin_, line}, ""});
    Answer a;
    origin_->receive(
      [&](acked_atom, const AckBatch& b) { a.acked = b.lines == std::vector<uint64_t>{line}; },
      [&](nacked_atom, const NackBatch& n) { a.nack = n.lines.empty() ? "?" : n.lines.front().second; },
      caf::after(std::chrono::seconds(5)) >> [&] { a.timed_out = true; });
    return a;
  }

  /// Sends the line again while it is nacked "retry" (a client would), within 5 s.
  Answer send_until_acked(const std::string& user, const std::string& event, uint64_t& line) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    Answer a;
    do {
      a = send(user, event, ++line);
    } while (!a.acked && !a.timed_out && a.nack.find("retry") != std::string::npos &&
             std::chrono::steady_clock::now() < deadline);
    return a;
  }

  /// The event names in the customer's live state, read through its manager.
  std::vector<std::string> history(const std::string& user) {
    std::vector<std::string> names;
    origin_->request(ctx_.managers[0], std::chrono::seconds(5), state_atom::value, user)
      .receive(
        [&](const std::string& raw) {
          std::error_code ec;
          auto s = customer_from_json(parse_stored_json(raw, ec));
          EXPECT_TRUE(s) << raw;
          if (s)
            for (auto& h : s->history)
              names.push_back(h.name);
        },
        [&](caf::error& err) { ADD_FAILURE() << sys_.render(err); });
    return names;
  }

  it::TempDir dir_{"waymark-actors-"};
  NodeContext ctx_;
  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  caf::scoped_actor origin_{sys_};
};

TEST_F(CommitFailure, AfterAFailedCommitTheCustomerRestartsFromItsStoredStateAndItsLaterEventsAreAccepted) {
  uint64_t line = 0;
  ASSERT_TRUE(send("u1", "E1", ++line).acked);
  ASSERT_TRUE(send("other", "O1", ++line).acked);

  ctx_.store->fail_next_commit_of("u1");
  auto failed = send("u1", "E2", ++line);
  EXPECT_FALSE(failed.acked);
  EXPECT_NE(failed.nack.find("fault_injected; retry"), std::string::npos) << failed.nack;

  // Before the fix every later write of u1 was refused ("customer state was
  // reset after a failed commit; retry") for as long as its actor lived.
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
    caf::anon_send(ctx_.managers[0], event_atom::value, EventMsg{ev(name), AckTarget{origin_, ++line}, ""});
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
}  // namespace waymark
