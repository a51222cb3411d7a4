// The forwarder to a partition's owner (actors/cluster_forward.cpp) with a
// scoped actor standing in for the owner's node, and another for the origin
// (a gateway connection): a busy owner that keeps answering other events is
// waited for past cluster.forward_timeout_ms; once it falls silent, what it
// has not answered is nacked with retry.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <chrono>
#include <thread>
#include <tuple>

#include "actors/cluster_forward.hpp"
#include "actors/messages.hpp"
#include "waymark/event.hpp"

namespace waymark {
namespace {

using namespace std::chrono_literals;

struct ForwarderConfig : caf::actor_system_config {
  ForwarderConfig() { register_wire_types(*this); }
};

class Forwarder : public ::testing::Test {
protected:
  void SetUp() override {
    ctx_.config.forward_timeout_ms = 600;
    fwd_ = spawn_forwarder(sys_, &ctx_, "peer");
    caf::anon_send(fwd_, peer_up_atom::value, caf::actor_cast<caf::actor>(owner_));
  }
  void TearDown() override { caf::anon_send(fwd_, shutdown_atom::value); }

  void forward(uint64_t line) {
    EventMsg m;
    m.event.type = EventType::track;
    m.event.user_id = "u";
    m.event.name = "E";
    m.ack = AckTarget{caf::actor_cast<caf::actor>(origin_), line};
    caf::anon_send(fwd_, event_atom::value, std::move(m));
  }
  /// The forwarder's own numbers of the next `n` events the owner receives.
  std::vector<uint64_t> receive_at_owner(size_t n) {
    std::vector<uint64_t> ids;
    while (ids.size() < n)
      owner_->receive([&](event_atom, std::vector<EventMsg>& batch) {
        for (auto& m : batch)
          ids.push_back(m.ack.line);
      });
    return ids;
  }
  /// What reaches the origin within `wait`: acked lines and nacked lines.
  std::pair<std::vector<uint64_t>, std::vector<uint64_t>> origin_answers(std::chrono::milliseconds wait) {
    std::vector<uint64_t> acked, nacked;
    bool done = false;
    while (!done)
      origin_->receive([&](acked_atom, const AckBatch& b) { acked.insert(acked.end(), b.lines.begin(), b.lines.end()); },
                       [&](nacked_atom, const NackBatch& n) {
                         for (auto& l : n.lines)
                           nacked.push_back(l.first);
                       },
                       caf::after(wait) >> [&] { done = true; });
    return {acked, nacked};
  }

  NodeContext ctx_;
  ForwarderConfig cfg_;
  caf::actor_system sys_{cfg_};
  caf::scoped_actor owner_{sys_};
  caf::scoped_actor origin_{sys_};
  caf::actor fwd_;
};

TEST_F(Forwarder, ABusyOwnerIsWaitedForAndASilentOneIsNackedWithinTheTimeout) {
  forward(1);  // the event the owner keeps waiting (a long queue at a live owner)
  auto first = receive_at_owner(1);
  // For 1.2 s (2 timeouts) the owner answers other events every 50 ms.
  uint64_t line = 1;
  for (int i = 0; i < 24; ++i) {
    forward(++line);
    auto ids = receive_at_owner(1);
    owner_->send(fwd_, acked_atom::value, AckBatch{ids});
    std::this_thread::sleep_for(50ms);
  }
  auto [acked, nacked] = origin_answers(50ms);
  EXPECT_EQ(acked.size(), 24u);
  EXPECT_TRUE(nacked.empty()) << "line " << nacked.front() << " nacked while the owner was answering";
  // Now silent: line 1 is nacked within the timeout (plus a sweep tick).
  std::tie(acked, nacked) = origin_answers(2000ms);
  EXPECT_EQ(nacked, std::vector<uint64_t>{1});
  EXPECT_TRUE(acked.empty());
  // A late answer for it is dropped (the client resends; dedup makes that safe).
  owner_->send(fwd_, acked_atom::value, AckBatch{first});
  std::tie(acked, nacked) = origin_answers(100ms);
  EXPECT_TRUE(acked.empty());
}

}  // namespace
}  // namespace waymark
