#include "actors/journey_manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <unordered_map>

#include "actors/customer.hpp"
#include "actors/messages.hpp"
#include "waymark/vec_deque.hpp"

namespace waymark {

namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

struct Pending {
  enum Kind { k_event, k_timer, k_handover, k_erase, k_read, k_prepare } kind = k_event;
  EventMsg ev;
  TimerKey timer;
  std::string into;
  caf::typed_response_promise<std::string> rp;  // k_handover, k_read, k_prepare
  caf::typed_response_promise<uint64_t> erase_rp;
  AuditPut erase_audit;  // k_erase: the erasure's audit entry, stored with it
};

struct Slot {
  caf::actor actor;
  uint32_t inflight = 0;     // events and timers sent to the actor, not yet handled
  VecDeque<AckTarget> events;  // the events among them, oldest first (done_atom pops one)
  int64_t last_active = 0;
  bool draining = false;
  std::vector<Pending> queue;  // a vector: an empty std::deque already allocates ~0.5 KB per slot
};

constexpr size_t queued_max = 100000;  // messages held for draining customers, per manager

}  // namespace

struct manager_state {
  std::unordered_map<std::string, Slot> slots;
  std::unordered_map<std::string, std::string> redirects;  // merged id -> canonical id
  std::unordered_map<caf::actor_addr, std::string> ids;    // live actor -> customer id
  // Actors being stopped (drain) with events not yet handled: their done_atom
  // still pops these; what is left when the stop fails is nacked.
  std::unordered_map<caf::actor_addr, VecDeque<AckTarget>> stopping;
  size_t live = 0;
  size_t queued = 0;
  static constexpr const char* name = "journey_manager";
};

namespace {

using self_ptr = caf::stateful_actor<manager_state>*;

/// A transient refusal (`retry`: the same line may succeed later), or a final one
/// counted under `reason`.
void nack(NodeContext* ctx, const AckTarget& a, const std::string& why, const char* reason = "retry",
          bool retry = true) {
  ctx->metrics.nack(reason);
  if (a.origin)
    caf::anon_send(a.origin, nacked_atom::value, NackBatch{{{a.line, why}}, retry});
}

void dispatch(self_ptr self, NodeContext* ctx, const std::string& id, Pending p);

Slot& spawn(self_ptr self, NodeContext* ctx, const std::string& id) {
  auto& st = self->state;
  auto& slot = st.slots[id];
  slot.actor = spawn_customer(self, ctx, id);
  slot.draining = false;
  slot.inflight = 0;
  slot.events.clear();
  st.ids[slot.actor.address()] = id;
  ++st.live;
  ctx->metrics.customers_spawned.fetch_add(1, std::memory_order_relaxed);
  return slot;
}

/// Stops the live actor of `id` and sends a barrier through the store.
void drain(self_ptr self, NodeContext* ctx, const std::string& id, Slot& slot, bool stop_actor) {
  if (slot.draining)
    return;
  slot.draining = true;
  if (slot.actor) {
    self->state.ids.erase(slot.actor.address());
    self->demonitor(slot.actor);
    auto actor = slot.actor;
    slot.actor = nullptr;
    --self->state.live;
    if (stop_actor) {
      // The actor handles the events sent before the stop first (mailbox
      // order) and stores its state (when inputs were logged since its last
      // snapshot) before it answers, so the barrier reaches the store after
      // that commit. If it cannot answer, the store replays its log instead,
      // and the events it did not handle are nacked.
      const auto addr = actor.address();
      if (!slot.events.empty())
        self->state.stopping[addr] = std::move(slot.events);
      slot.events.clear();
      auto stopped = [=](bool ok) {
        auto s = self->state.stopping.find(addr);
        if (s != self->state.stopping.end()) {
          for (auto& ack : s->second)
            if (!ok)
              nack(ctx, ack, "customer " + id + " restarting; retry");
          self->state.stopping.erase(s);
        }
        self->send(ctx->store_actor, barrier_atom::value, id);
      };
      self->request(actor, std::chrono::seconds(30), shutdown_atom::value)
        .then([=](bool) { stopped(true); }, [=](caf::error&) { stopped(false); });
      return;
    }
  }
  self->send(ctx->store_actor, barrier_atom::value, id);
}

/// A handover that failed moved nothing: the state of `id` stays its own, so
/// the redirect set for the merge (when it still points at `into`) goes.
void drop_redirect(self_ptr self, const std::string& id, const std::string& into) {
  auto r = self->state.redirects.find(id);
  if (r != self->state.redirects.end() && r->second == into)
    self->state.redirects.erase(r);
}

/// A merge of `id` into `into` whose commit failed: `id` is its own customer
/// again. Its actor handed its state over and stopped without a snapshot, so
/// the next incarnation waits for a barrier, which replays its logged inputs.
void on_unalias(self_ptr self, NodeContext* ctx, const std::string& id, const std::string& into) {
  auto r = self->state.redirects.find(id);
  if (r == self->state.redirects.end() || r->second != into)
    return;
  self->state.redirects.erase(r);
  if (!self->state.slots.count(id))
    drain(self, ctx, id, self->state.slots[id], false);
}

void send_to_actor(self_ptr self, NodeContext* ctx, const std::string& id, Slot& slot, Pending p) {
  ++slot.inflight;
  slot.last_active = steady_ms();
  auto done = [=] {
    auto i = self->state.slots.find(id);
    if (i != self->state.slots.end() && i->second.inflight > 0)
      --i->second.inflight;
  };
  switch (p.kind) {
    case Pending::k_event:  // the actor answers with done_atom (on_handled) or stops (down handler)
      slot.events.push_back(p.ev.ack);
      self->send(slot.actor, event_atom::value, std::move(p.ev));
      break;
    case Pending::k_timer:
      self->request(slot.actor, caf::infinite, timer_atom::value, p.timer)
        .then([=](bool) { done(); }, [=](caf::error&) { done(); });  // the timer service retries
      break;
    case Pending::k_handover: {
      auto rp = p.rp;
      auto into = p.into;
      // The actor answers with its state and stops; later messages for this id
      // already go to the merged customer (redirect set by the caller).
      self->request(slot.actor, std::chrono::seconds(30), handover_atom::value)
        .then(
          [=](std::string& raw) mutable {
            auto i = self->state.slots.find(id);
            if (i != self->state.slots.end()) {
              self->state.ids.erase(i->second.actor.address());
              if (i->second.actor)
                --self->state.live;
              self->demonitor(i->second.actor);
              self->state.slots.erase(i);
            }
            rp.deliver(raw);
          },
          [=](caf::error& err) mutable {
            drop_redirect(self, id, into);
            rp.deliver(err);
          });
      break;
    }
    case Pending::k_read:   // never delivered here: dispatch() asks the actor itself
    case Pending::k_prepare:  // never delivered to the actor: see prepare_handoff
    case Pending::k_erase:  // never delivered to the actor: dispatch() runs erase_customer
      break;
  }
}

void forward_redirected(self_ptr self, NodeContext* ctx, const std::string& id, const std::string& target,
                        Pending& p) {
  auto& mgr = ctx->router.route(target);
  if (p.kind == Pending::k_event) {
    if (++p.ev.redirects > kAliasRedirectsMax) {
      // The redirects loop (they must not: a failed handover or merge commit
      // drops its redirect, see drop_redirect and on_unalias): refuse, and
      // forget this one so that the next event asks the store.
      spdlog::error("[manager] event for {} followed {} alias redirects; dropping the redirect {} -> {}", id,
                    kAliasRedirectsMax, id, target);
      self->state.redirects.erase(id);
      nack(ctx, p.ev.ack, "alias redirect loop at " + id + "; retry", "alias_loop");
      return;
    }
    p.ev.route = target;
    self->send(mgr, event_atom::value, std::move(p.ev));
  } else if (p.kind == Pending::k_handover) {
    // Already merged: the state lives under `target` now; nothing to hand over.
    p.rp.deliver(std::string());
  }
  // timers of merged customers were deleted with the merge: drop.
}

/// Erasure (DELETE /api/customers/{id}): a live actor is stopped first and its
/// queued writes drained through the store, so nothing writes the state back.
void erase_customer(self_ptr self, NodeContext* ctx, const std::string& id, Pending p) {
  auto& st = self->state;
  st.redirects.erase(id);
  auto it = st.slots.find(id);
  if (it != st.slots.end()) {
    drain(self, ctx, id, it->second, true);  // no-op when already draining
    ++st.queued;
    it->second.queue.push_back(std::move(p));  // runs again after the barrier
    return;
  }
  auto rp = p.erase_rp;
  self->request(ctx->store_actor, caf::infinite, erase_atom::value, id, static_cast<int64_t>(p.erase_audit.at),
                p.erase_audit.json)
    .then([=](uint64_t n) mutable { rp.deliver(n); }, [=](caf::error& err) mutable { rp.deliver(err); });
}

/// A merge across owners takes `id` to another member (actors/cluster_merge.cpp):
/// its live actor is stopped (it stores its state, the barrier replays any
/// logged input), so once this answers "" the stored state is final. The
/// caller marked `id` first, so nothing spawns it again meanwhile.
void prepare_handoff(self_ptr self, NodeContext* ctx, const std::string& id, Pending p) {
  auto& st = self->state;
  if (st.redirects.count(id)) {  // a merge of `id` on this node is in flight
    p.rp.deliver(caf::make_error(caf::sec::request_timeout, "customer " + id + " is being merged here; retry"));
    return;
  }
  auto it = st.slots.find(id);
  if (it == st.slots.end()) {
    p.rp.deliver(std::string());
    return;
  }
  drain(self, ctx, id, it->second, true);  // no-op when already draining
  ++st.queued;
  it->second.queue.push_back(std::move(p));  // answered after the barrier
}

/// `id` is marked as being handed to another owner's customer: nothing may
/// change it. Events are nacked with retry (they apply once the merge is
/// finished, at the merged customer, or aborted); timers stay in LMDB and the
/// timer service sends them again; a merge of it on this node waits too.
bool refuse_handed(NodeContext* ctx, const std::string& id, Pending& p) {
  auto into = ctx->handoffs.into(id);
  if (!into)
    return false;
  if (p.kind == Pending::k_event)
    nack(ctx, p.ev.ack, "customer " + id + " is being merged into " + *into + "; retry", "merge_in_flight");
  else if (p.kind == Pending::k_handover)
    p.rp.deliver(caf::make_error(caf::sec::request_timeout, "customer " + id + " is being merged; retry"));
  return true;
}

void dispatch(self_ptr self, NodeContext* ctx, const std::string& id, Pending p) {
  auto& st = self->state;
  if (p.kind == Pending::k_prepare)
    return prepare_handoff(self, ctx, id, std::move(p));
  if (p.kind == Pending::k_erase) {
    erase_customer(self, ctx, id, std::move(p));
    return;
  }
  if (p.kind == Pending::k_read) {
    // The live state when the customer is live (the store may hold an older
    // snapshot plus logged inputs); else the stored one, which is complete.
    auto it = st.slots.find(id);
    if (it == st.slots.end()) {
      p.rp.deliver(ctx->store->get_customer(id).value_or(std::string()));
      return;
    }
    if (it->second.draining) {
      ++st.queued;
      it->second.queue.push_back(std::move(p));
      return;
    }
    // A read neither keeps the actor from passivating nor counts as activity.
    auto rp = p.rp;
    self->request(it->second.actor, std::chrono::seconds(30), state_atom::value)
      .then([=](std::string& raw) mutable { rp.deliver(std::move(raw)); },
            [=](caf::error& err) mutable { rp.deliver(err); });
    return;
  }
  if (refuse_handed(ctx, id, p))
    return;
  if (auto r = st.redirects.find(id); r != st.redirects.end() && p.kind != Pending::k_timer) {
    forward_redirected(self, ctx, id, r->second, p);
    return;
  }
  auto it = st.slots.find(id);
  if (it == st.slots.end()) {
    if (p.kind != Pending::k_timer) {
      if (auto alias = ctx->store->resolve_alias(id)) {
        st.redirects[id] = *alias;
        forward_redirected(self, ctx, id, *alias, p);
        return;
      }
    }
    if (p.kind == Pending::k_handover) {
      // Not live: its committed state is complete (no draining in progress).
      p.rp.deliver(ctx->store->get_customer(id).value_or(std::string()));
      st.redirects[id] = p.into;
      return;
    }
    it = st.slots.find(id);
    spawn(self, ctx, id);
    it = st.slots.find(id);
  }
  auto& slot = it->second;
  if (slot.draining) {
    if (st.queued >= queued_max) {
      if (p.kind == Pending::k_event)
        nack(ctx, p.ev.ack, "node busy; retry");
      return;
    }
    ++st.queued;
    slot.queue.push_back(std::move(p));
    return;
  }
  if (p.kind == Pending::k_handover)
    st.redirects[id] = p.into;
  send_to_actor(self, ctx, id, slot, std::move(p));
}

/// A customer actor handled the oldest event sent to it (customer.cpp, handled()).
void on_handled(self_ptr self) {
  auto& st = self->state;
  const auto addr = caf::actor_cast<caf::actor_addr>(self->current_sender());
  if (auto i = st.ids.find(addr); i != st.ids.end()) {
    auto s = st.slots.find(i->second);
    if (s == st.slots.end() || s->second.events.empty())
      return;
    s->second.events.pop_front();
    if (s->second.inflight > 0)
      --s->second.inflight;
  } else if (auto p = st.stopping.find(addr); p != st.stopping.end() && !p->second.empty()) {
    p->second.pop_front();  // an actor being stopped (drain)
  }
}

void on_drained(self_ptr self, NodeContext* ctx, const std::string& id) {
  auto& st = self->state;
  auto it = st.slots.find(id);
  if (it == st.slots.end() || !it->second.draining)
    return;
  auto queue = std::move(it->second.queue);
  st.queued -= std::min(st.queued, queue.size());
  st.slots.erase(it);
  for (auto& p : queue)
    dispatch(self, ctx, id, std::move(p));
}

size_t live_cap(NodeContext* ctx) {
  auto parts = std::max<size_t>(1, ctx->router.local_managers().size());
  return std::max<size_t>(16, ctx->config.limits.live_customers_max / parts);
}

void sweep(self_ptr self, NodeContext* ctx) {
  auto& st = self->state;
  auto now = steady_ms();
  auto idle_ms = static_cast<int64_t>(ctx->config.limits.customer_idle_s * 1000);
  auto passivable = [&](const Slot& slot) { return !slot.draining && slot.inflight == 0 && slot.actor; };
  size_t cap = live_cap(ctx);
  // Runs every 2 s over every slot: without anything to passivate, one pass
  // that allocates nothing.
  bool due = st.live > cap;
  for (auto it = st.slots.begin(); !due && it != st.slots.end(); ++it)
    due = passivable(it->second) && now - it->second.last_active >= idle_ms;
  if (!due)
    return;
  // Least recently used first. Element pointers of an unordered_map stay valid
  // while other elements are erased, and drain() erases at most its own slot.
  std::vector<std::pair<int64_t, const std::string*>> idle;
  for (auto& [id, slot] : st.slots)
    if (passivable(slot))
      idle.emplace_back(slot.last_active, &id);
  std::sort(idle.begin(), idle.end());
  for (auto& [last, id_ptr] : idle) {
    bool over_cap = st.live > cap;
    if (!over_cap && now - last < idle_ms)
      break;
    const std::string id = *id_ptr;  // drain() may erase the slot that owns the key
    drain(self, ctx, id, st.slots[id], true);
    ctx->metrics.customers_passivated.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

caf::behavior journey_manager(self_ptr self, NodeContext* ctx, size_t partition) {
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.ids.find(dm.source);
    if (i == st.ids.end())
      return;
    auto id = i->second;
    auto s = st.slots.find(id);
    if (s == st.slots.end())
      return;
    // An unexpected stop: the events it had not handled are nacked (they
    // did not reach the store); it restarts from the last committed state
    // once the store has drained what the dead incarnation sent.
    auto& slot = s->second;
    for (auto& ack : slot.events)
      nack(ctx, ack, "customer " + id + " restarting; retry");
    slot.inflight -= std::min<uint32_t>(slot.inflight, static_cast<uint32_t>(slot.events.size()));
    slot.events.clear();
    ctx->metrics.customers_restarted.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("[manager={}] customer {} stopped ({}); restarting from committed state", partition, id,
                 self->system().render(dm.reason));
    drain(self, ctx, id, s->second, false);
  });
  self->send(self, sweep_atom::value);
  return {
    [=](done_atom) { on_handled(self); },
    [=](event_atom, EventMsg& m) {
      if (!ctx->catalog_ready.load(std::memory_order_relaxed))  // a cluster member behind the leader's catalog
        return nack(ctx, m.ack, "this node's catalog is not in step with the cluster yet; retry", "catalog_sync");
      std::string id = m.route.empty() ? m.event.customer_key() : m.route;
      if (ctx->view && !ctx->ownership.ready(ctx->router.partition_of(id)))  // its records are still arriving
        return nack(ctx, m.ack, "partition of " + id + " is being handed to this node; retry", "handoff");
      Pending p;
      p.kind = Pending::k_event;
      p.ev = std::move(m);
      dispatch(self, ctx, id, std::move(p));
      if (self->state.live > live_cap(ctx) + live_cap(ctx) / 8)
        sweep(self, ctx);
    },
    [=](erase_atom, const std::string& id, int64_t audit_at, const std::string& audit) -> caf::result<uint64_t> {
      Pending p;
      p.kind = Pending::k_erase;
      p.erase_audit = AuditPut{audit_at, audit};
      p.erase_rp = self->make_response_promise<uint64_t>();
      auto rp = p.erase_rp;
      dispatch(self, ctx, id, std::move(p));
      return rp;
    },
    [=](timer_atom, const TimerKey& t) {
      Pending p;
      p.kind = Pending::k_timer;
      p.timer = t;
      dispatch(self, ctx, t.customer, std::move(p));
    },
    [=](handover_atom, const std::string& other, const std::string& into) -> caf::result<std::string> {
      auto rp = self->make_response_promise<std::string>();
      Pending p;
      p.kind = Pending::k_handover;
      p.into = into;
      p.rp = rp;
      dispatch(self, ctx, other, std::move(p));
      return rp;
    },
    [=](prepare_atom, const std::string& id) -> caf::result<std::string> {
      Pending p;
      p.kind = Pending::k_prepare;
      p.rp = self->make_response_promise<std::string>();
      auto rp = p.rp;
      dispatch(self, ctx, id, std::move(p));
      return rp;
    },
    [=](state_atom, const std::string& id) -> caf::result<std::string> {
      Pending p;
      p.kind = Pending::k_read;
      p.rp = self->make_response_promise<std::string>();
      auto rp = p.rp;
      dispatch(self, ctx, id, std::move(p));
      return rp;
    },
    [=](snapshot_atom, const std::string& id) {
      auto it = self->state.slots.find(id);
      if (it != self->state.slots.end() && it->second.actor && !it->second.draining)
        self->send(it->second.actor, snapshot_atom::value);
    },
    [=](drained_atom, const std::string& id, bool) { on_drained(self, ctx, id); },
    [=](unalias_atom, const std::string& id, const std::string& into) { on_unalias(self, ctx, id, into); },
    [=](sweep_atom) {
      sweep(self, ctx);
      self->delayed_send(self, std::chrono::seconds(2), sweep_atom::value);
    },
    [=](shutdown_atom) {
      for (auto& [id, slot] : self->state.slots)
        if (slot.actor)
          self->send_exit(slot.actor, caf::exit_reason::user_shutdown);
      self->quit();
    },
  };
}

caf::actor spawn_journey_manager(caf::actor_system& sys, NodeContext* ctx, size_t partition) {
  return sys.spawn(journey_manager, ctx, partition);
}

}  // namespace waymark
