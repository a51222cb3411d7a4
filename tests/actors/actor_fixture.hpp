// A node's core actors in-process for actor tests: the real store actor (on
// a real LMDB in a temporary directory), one journey manager and its customer
// actors, and a scoped actor standing in for the gateway that receives the
// acks and nacks. No TCP/HTTP, no timer service, no channel gateways.
#pragma once

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "actors/journey_manager.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/store_actor.hpp"
#include "support/temp_dir.hpp"
#include "waymark/json.hpp"

namespace waymark::actor_test {

/// The answer to one event line: acked, or nacked with a reason.
struct Answer {
  bool acked = false;
  std::string nack;  // empty when acked or when nothing came
  bool timed_out = false;
};

class ActorNode : public ::testing::Test {
protected:
  void SetUp() override {
    auto store = Store::open(dir_.path(), 64);
    ASSERT_TRUE(store) << store.error().message;
    ctx_.store = std::shared_ptr<Store>(std::move(*store));
    before_actors();
    ctx_.clock = std::make_shared<Clock>(true, 1'700'000'000'000);
    ctx_.config.limits.snapshot_every = 4;  // the first inputs go to the log, not into a snapshot
    ctx_.config.limits.commit_delay_us_max = 0;  // lines sent together may commit apart
    ctx_.store_actor = spawn_store_actor(sys_, &ctx_);
    ctx_.router.set_local({spawn_journey_manager(sys_, &ctx_, 0)}, 1);
  }

  /// Runs while the store has no other writer (after open, before the actors).
  virtual void before_actors() {}

  void TearDown() override {
    caf::anon_send(ctx_.router.local_managers()[0], shutdown_atom::value);
    caf::anon_send_exit(ctx_.store_actor, caf::exit_reason::user_shutdown);
    ctx_.router.clear();  // the system waits for its detached store actor until no handle is left
    ctx_.store_actor = nullptr;
    sys_.await_actors_before_shutdown(false);
  }

  /// Sends a track of `event` for `user` as line `line` and waits for its answer.
  Answer send(const std::string& user, const std::string& event, uint64_t line) {
    post(user, event, line);
    return answer(line);
  }

  /// Waits for the answer to line `line`.
  Answer answer(uint64_t line) {
    Answer a;
    origin_->receive(
      [&](acked_atom, const AckBatch& b) { a.acked = b.lines == std::vector<uint64_t>{line}; },
      [&](nacked_atom, const NackBatch& n) { a.nack = n.lines.empty() ? "?" : n.lines.front().second; },
      caf::after(std::chrono::seconds(5)) >> [&] { a.timed_out = true; });
    return a;
  }

  /// Sends the line again while it is nacked "retry" (a client would), within 5 s.
  Answer send_until_acked(const std::string& user, const std::string& event, uint64_t& line) {
    return until_acked([&](uint64_t l) { return send(user, event, l); }, line);
  }
  Answer send_json_until_acked(const std::string& text, uint64_t& line) {
    return until_acked([&](uint64_t l) { return send_json(text, l); }, line);
  }
  Answer until_acked(const std::function<Answer(uint64_t)>& send_line, uint64_t& line) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    Answer a;
    do {
      a = send_line(++line);
    } while (!a.acked && !a.timed_out && a.nack.find("retry") != std::string::npos &&
             std::chrono::steady_clock::now() < deadline);
    return a;
  }

  /// The event names in the customer's live state, read through its manager.
  std::vector<std::string> history(const std::string& user) {
    std::vector<std::string> names;
    origin_->request(ctx_.router.local_managers()[0], std::chrono::seconds(5), state_atom::value, user)
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

  /// Sends a track of `event` for `user` as line `line` without waiting.
  void post(const std::string& user, const std::string& event, uint64_t line) {
    post_json(R"({"type":"track","userId":")" + user + R"(","event":")" + event + R"("})", line);
  }

  /// Sends one Segment event (JSON text) as line `line` without waiting.
  void post_json(const std::string& text, uint64_t line) {
    auto ev = parse_event(text, ctx_.config.limits, ctx_.clock->now());
    EXPECT_TRUE(ev) << ev.error().message;
    auto& mgr = ctx_.router.route(ev->customer_key());
    caf::anon_send(mgr, event_atom::value, EventMsg{std::move(*ev), AckTarget{origin_, line}, ""});
  }

  /// Sends one Segment event as line `line` and waits for its answer.
  Answer send_json(const std::string& text, uint64_t line) {
    post_json(text, line);
    return answer(line);
  }

  it::TempDir dir_{"waymark-actors-"};
  NodeContext ctx_;
  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  caf::scoped_actor origin_{sys_};
};

}  // namespace waymark::actor_test
