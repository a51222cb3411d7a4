#include "actors/cluster_forward.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "actors/cluster_auth.hpp"
#include "actors/messages.hpp"
#include "waymark/forward_policy.hpp"

namespace waymark {
namespace {

constexpr auto sweep_every = std::chrono::milliseconds(50);
constexpr size_t batch_max = 1024;  // events per message to the owner

using steady = std::chrono::steady_clock;

int64_t ms(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct Pending {
  AckTarget origin;
  steady::time_point sent;
};

struct forwarder_state {
  caf::actor owner;                  // the peer's cluster actor while up
  uint64_t next = 0;                 // the forwarder's own line numbers
  std::map<uint64_t, Pending> open;  // forwarded, unanswered (ascending = by time sent)
  steady::time_point last_answer;    // the owner's last ack or nack (or its link coming up)
  std::vector<EventMsg> batch;       // to send at the next flush
  bool sweeping = false;
  bool flush_queued = false;
  static constexpr const char* name = "cluster_forwarder";
};
using forwarder = caf::stateful_actor<forwarder_state>;

/// Nacks (with retry) the origins of `ids`' events, grouped per origin.
void nack_all(forwarder* self, const std::vector<std::pair<AckTarget, std::string>>& lines) {
  std::map<caf::actor, NackBatch> by_origin;
  for (auto& [t, why] : lines)
    if (t.origin) by_origin[t.origin].lines.emplace_back(t.line, why);
  for (auto& [origin, nb] : by_origin) self->send(origin, nacked_atom::value, std::move(nb));
}

void nack_open(forwarder* self, const std::string& why) {
  std::vector<std::pair<AckTarget, std::string>> lines;
  for (auto& [id, p] : self->state.open) lines.emplace_back(p.origin, why);
  self->state.open.clear();
  nack_all(self, lines);
}

/// Nacks what the owner has not answered in time (cluster::forward_late: the
/// owner silent for the timeout, or 10 timeouts); runs while anything is
/// open. Oldest first: when the oldest is not late, no later one is.
void sweep(forwarder* self, const std::string& peer, std::chrono::milliseconds timeout) {
  auto& st = self->state;
  auto now = steady::now();
  std::vector<std::pair<AckTarget, std::string>> late;
  while (!st.open.empty() &&
         cluster::forward_late(ms(st.open.begin()->second.sent), ms(st.last_answer), ms(now), timeout.count())) {
    late.emplace_back(st.open.begin()->second.origin,
                      "owner " + peer + " did not answer within " + std::to_string(timeout.count()) + " ms; retry");
    st.open.erase(st.open.begin());
  }
  nack_all(self, late);
  st.sweeping = !st.open.empty();
  if (st.sweeping) self->delayed_send(self, sweep_every, tick_atom::value);
}

/// Acks and nacks count only from the owner's node (the owner relays them
/// with a sender, actors/cluster_auth.hpp): a forwarder's handle has crossed
/// the wire, so other nodes could address it.
bool from_owner(forwarder* self) {
  auto& sender = self->current_sender();
  if (!self->state.owner)
    return false;  // what was open has been nacked already
  if (sender && sender->node() == self->state.owner.node())
    return true;
  count_cluster_refusal("not_owner");
  return false;
}

caf::behavior forwarder_actor(forwarder* self, NodeContext* ctx, std::string peer) {
  auto timeout = std::chrono::milliseconds(ctx->config.forward_timeout_ms);
  return {
    [=](event_atom, EventMsg m) {
      auto& st = self->state;
      if (!st.owner) {
        nack_all(self, {{m.ack, "owner " + peer + " of this customer's partition is down; retry"}});
        return;
      }
      auto id = ++st.next;
      st.open.emplace(id, Pending{m.ack, steady::now()});
      m.ack = AckTarget{caf::actor_cast<caf::actor>(self), id};
      // Events travel in batches: what is in the mailbox when the flush
      // (queued behind it) runs goes as one message.
      st.batch.push_back(std::move(m));
      if (st.batch.size() >= batch_max) {
        self->send(st.owner, event_atom::value, std::move(st.batch));
        st.batch.clear();
      } else if (!st.flush_queued) {
        st.flush_queued = true;
        self->send(self, flush_atom::value);
      }
      if (!st.sweeping) {
        st.sweeping = true;
        self->delayed_send(self, sweep_every, tick_atom::value);
      }
    },
    [=](flush_atom) {
      auto& st = self->state;
      st.flush_queued = false;
      if (st.batch.empty() || !st.owner) return;  // a lost owner nacked what was open
      self->send(st.owner, event_atom::value, std::move(st.batch));
      st.batch.clear();
    },
    [=](tick_atom) { sweep(self, peer, timeout); },
    [=](acked_atom, const AckBatch& a) {
      if (!from_owner(self))
        return;
      self->state.last_answer = steady::now();
      std::map<caf::actor, AckBatch> by_origin;
      for (auto id : a.lines) {
        auto it = self->state.open.find(id);
        if (it == self->state.open.end()) continue;  // nacked already (timeout or owner down)
        if (it->second.origin.origin) by_origin[it->second.origin.origin].lines.push_back(it->second.origin.line);
        self->state.open.erase(it);
      }
      for (auto& [origin, out] : by_origin) self->send(origin, acked_atom::value, std::move(out));
    },
    [=](nacked_atom, const NackBatch& n) {
      if (!from_owner(self))
        return;
      self->state.last_answer = steady::now();
      std::map<caf::actor, NackBatch> by_origin;
      for (auto& [id, why] : n.lines) {
        auto it = self->state.open.find(id);
        if (it == self->state.open.end()) continue;
        if (it->second.origin.origin) {
          auto& out = by_origin[it->second.origin.origin];
          out.retry = n.retry;
          out.lines.emplace_back(it->second.origin.line, why);
        }
        self->state.open.erase(it);
      }
      for (auto& [origin, out] : by_origin) self->send(origin, nacked_atom::value, std::move(out));
    },
    [=](peer_up_atom, caf::actor owner) {
      self->state.owner = std::move(owner);
      self->state.last_answer = steady::now();
    },
    [=](peer_down_atom) {
      self->state.owner = nullptr;
      self->state.batch.clear();
      nack_open(self, "owner " + peer + " of this customer's partition went down; retry");
    },
    [=](shutdown_atom) {
      nack_open(self, "node stopping; retry");
      self->quit();
    },
  };
}

}  // namespace

caf::actor spawn_forwarder(caf::actor_system& sys, NodeContext* ctx, std::string peer) {
  return sys.spawn(forwarder_actor, ctx, std::move(peer));
}

}  // namespace waymark
