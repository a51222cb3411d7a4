// Owed "Message <Status>" events (actors/status_events.cpp, PRODUCT.md §10):
// every mark the store writes with a final status is sent to its customer
// until the customer's commit erases it, however many are owed at once. The
// status_events actor and the real store actor run on a real LMDB in a
// temporary directory; a scoped actor stands in for the journey manager: it
// receives the events and answers them as a customer would (its commit
// erases the mark, then it acks).
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "actors/status_events.hpp"
#include "actors/store_actor.hpp"
#include "support/temp_dir.hpp"
#include "waymark/json.hpp"

namespace waymark::actor_test {
namespace {

const std::string kPrefix = std::string("status_event") + '\0';

class StatusEvents : public ::testing::Test {
protected:
  void SetUp() override {
    auto store = Store::open(dir_.path(), 64);
    ASSERT_TRUE(store) << store.error().message;
    ctx_.store = std::shared_ptr<Store>(std::move(*store));
    ctx_.clock = std::make_shared<Clock>(true, 1'700'000'000'000);
    ctx_.store_actor = spawn_store_actor(sys_, &ctx_);
    ctx_.router.set_local({caf::actor_cast<caf::actor>(customers_)}, 1);
    ctx_.status_events = spawn_status_events(sys_, &ctx_);
  }

  void TearDown() override {
    caf::anon_send(ctx_.status_events, shutdown_atom::value);
    caf::anon_send_exit(ctx_.store_actor, caf::exit_reason::user_shutdown);
    ctx_.router.clear();
    ctx_.store_actor = nullptr;
    ctx_.status_events = nullptr;
    sys_.await_actors_before_shutdown(false);
  }

  /// Commits `n` deliveries of customer u1 and their final status
  /// "delivered": the store marks `n` events as owed.
  void owe(int n) {
    Batch put;
    CustomerWrite w;
    w.customer = "u1";
    for (int i = 0; i < n; ++i) {
      Delivery d;
      d.id = "d" + std::to_string(1000 + i);
      d.channel = "email";
      d.customer = "u1";
      d.journey = "j";
      d.version = 1;
      d.step = "s";
      w.deliveries.push_back(d);
    }
    put.customers.push_back(std::move(w));
    ASSERT_TRUE(ctx_.store->commit(put));
    Batch done;
    for (auto& r : ctx_.store->outbox_scan("email", 0, static_cast<size_t>(n))) {
      std::error_code ec;
      auto v = parse_stored_json(r.record, ec);
      ASSERT_FALSE(ec);
      DeliveryUpdate u;
      u.channel = "email";
      u.seq = r.seq;
      u.id = std::string(v.as_object().at("id").as_string());
      u.status = "delivered";
      u.attempts = 1;
      done.deliveries.push_back(u);
    }
    ASSERT_TRUE(ctx_.store->commit(done));
    ASSERT_EQ(owed(), static_cast<size_t>(n));
  }

  size_t owed() const { return ctx_.store->meta_count(kPrefix); }

  /// The next `n` events routed to customers (fewer when none comes within `wait`).
  std::vector<EventMsg> take_events(size_t n, std::chrono::milliseconds wait = std::chrono::seconds(5)) {
    std::vector<EventMsg> out;
    bool timed_out = false;
    while (out.size() < n && !timed_out)
      customers_->receive([&](event_atom, EventMsg& m) { out.push_back(std::move(m)); },
                          caf::after(wait) >> [&] { timed_out = true; });
    return out;
  }

  /// What a customer does with the events: one commit erases their marks.
  void commit(const std::vector<EventMsg>& events) {
    Batch b;
    for (auto& m : events)
      b.meta_erase.push_back(m.settles);
    ASSERT_TRUE(ctx_.store->commit(b));
  }

  /// ... and then acks them.
  void ack(const std::vector<EventMsg>& events) {
    for (auto& m : events)
      caf::anon_send(m.ack.origin, acked_atom::value, AckBatch{{m.ack.line}});
  }

  it::TempDir dir_{"waymark-actors-"};
  NodeContext ctx_;
  caf::actor_system_config cfg_;
  caf::actor_system sys_{cfg_};
  caf::scoped_actor customers_{sys_};
};

// The flaky Crash.KillNineMidStream* test: after a restart, a gateway's tick
// scanned while 256 events (the most on their way at once) were still
// unacked: the 44 marks it had no room for were left, the scan had read
// fewer than a page of marks so it expected none left, and nothing scanned
// again once the 256 were acked: the 44 stayed owed.
TEST_F(StatusEvents, MarksSkippedWhileTheMostEventsAreOnTheirWayAreSentOnceThoseAreAcked) {
  owe(300);
  start_status_events(&ctx_);
  auto first = take_events(256);
  ASSERT_EQ(first.size(), 256u) << "the first scan sends at most 256 events";
  commit(first);
  ASSERT_EQ(owed(), 44u);  // 300 - 256
  // A gateway committed more statuses: this scan finds 44 marks and no room.
  caf::anon_send(ctx_.status_events, tick_atom::value);
  ack(first);

  auto rest = take_events(44);
  ASSERT_EQ(rest.size(), 44u) << "the marks skipped for room are sent once the events on their way are acked";
  std::set<std::string> sent;
  for (auto& m : first)
    sent.insert(m.settles);
  for (auto& m : rest)
    EXPECT_EQ(sent.count(m.settles), 0u) << "sent twice: " << m.settles.substr(kPrefix.size());
  commit(rest);
  ack(rest);
  EXPECT_EQ(owed(), 0u);
}

// A mark whose delivery is gone owes nothing: the actor erases it itself,
// through a store-actor batch (whose meta_erase the store actor once dropped).
TEST_F(StatusEvents, AMarkWhoseDeliveryIsGoneIsErased) {
  Batch b;
  b.meta.emplace_back(kPrefix + "gone", "delivered");
  ASSERT_TRUE(ctx_.store->commit(b));
  ASSERT_EQ(owed(), 1u);
  start_status_events(&ctx_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (owed() != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll with a deadline
  EXPECT_EQ(owed(), 0u);
  // (the scan sends events before it erases: one would be in the mailbox by now)
  EXPECT_TRUE(take_events(1, std::chrono::milliseconds(0)).empty()) << "no event for a delivery that is gone";
}

}  // namespace
}  // namespace waymark::actor_test
