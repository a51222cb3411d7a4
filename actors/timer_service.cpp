#include "actors/timer_service.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "actors/messages.hpp"

namespace waymark {

namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

constexpr int64_t redispatch_after_ms = 30000;  // a fired timer not committed by then is sent again
constexpr int64_t advance_timeout_ms = 60000;

struct Advance {
  Millis target = 0;
  caf::typed_response_promise<int64_t> rp;
  int64_t started = 0;
};

}  // namespace

struct timer_state {
  std::map<TimerKey, int64_t> inflight;  // key -> steady ms when dispatched
  uint64_t generation = 0;               // invalidates older ticks
  Millis armed_for = 0;                  // due time the pending tick is for (0 = none)
  std::deque<Advance> advances;          // manual clock requests, in order
  bool persisting_clock = false;
  bool recheck_armed = false;  // a delayed re-check of a waiting advance is pending
  static constexpr const char* name = "timer_service";
};

namespace {

using self_ptr = caf::stateful_actor<timer_state>*;

/// Sends every due timer not already in flight, up to the in-flight cap.
void fire_due(self_ptr self, NodeContext* ctx, Millis now) {
  auto& st = self->state;
  auto cap = ctx->config.limits.timers_in_flight_max;
  auto t = steady_ms();
  const TimerKey* after = nullptr;
  TimerKey cursor;
  while (st.inflight.size() < cap) {
    auto due = ctx->store->due_timers(now, std::min<size_t>(1024, cap), after);
    if (due.empty())
      return;
    for (auto& k : due) {
      if (!ctx->ownership.owns(ctx->router.partition_of(k.customer)))
        continue;  // another member owns it now: the timer moves there (hand-off)
      auto [it, fresh] = st.inflight.emplace(k, t);
      if (!fresh) {
        if (t - it->second < redispatch_after_ms)
          continue;
        it->second = t;
      }
      self->send(ctx->router.route(k.customer), timer_atom::value, k);
      if (st.inflight.size() >= cap)
        return;
    }
    cursor = due.back();
    after = &cursor;
  }
}

void arm(self_ptr self, NodeContext* ctx) {
  auto& st = self->state;
  if (ctx->clock->manual())
    return;
  auto next = ctx->store->next_timer_due();
  Millis now = ctx->clock->now();
  Millis wake = next ? std::min(*next, now + 1000) : now + 1000;
  if (st.armed_for != 0 && st.armed_for <= wake)
    return;
  st.armed_for = wake;
  auto gen = ++st.generation;
  self->delayed_send(self, std::chrono::milliseconds(std::max<Millis>(0, wake - now)), tick_atom::value, gen);
}

void persist_clock(self_ptr self, NodeContext* ctx, std::function<void()> then) {
  Batch b;
  b.meta.emplace_back("clock", std::to_string(ctx->clock->now()));
  self->request(ctx->store_actor, caf::infinite, batch_atom::value, std::move(b))
    .then([then](bool) { then(); }, [then](caf::error&) { then(); });
}

/// Manual clock: move time to the next due timer (or the target), fire, and
/// wait for the store to report the fired timers deleted before going on.
void step_advance(self_ptr self, NodeContext* ctx) {
  auto& st = self->state;
  if (st.advances.empty() || st.persisting_clock)
    return;
  auto& adv = st.advances.front();
  if (!st.inflight.empty()) {
    if (steady_ms() - adv.started > advance_timeout_ms) {
      adv.rp.deliver(caf::make_error(caf::sec::request_timeout, "timers did not commit in time"));
      st.advances.pop_front();
    }
    if (!st.recheck_armed) {  // also re-dispatch timers whose customer never committed
      st.recheck_armed = true;
      self->delayed_send(self, std::chrono::milliseconds(200), advance_atom::value);
    }
    return;  // wait for deletions
  }
  auto next = ctx->store->next_timer_due();
  if (next && *next <= adv.target) {
    ctx->clock->set(*next);
    fire_due(self, ctx, ctx->clock->now());
    if (st.inflight.empty() && !st.recheck_armed) {  // nothing dispatchable right now
      st.recheck_armed = true;
      self->delayed_send(self, std::chrono::milliseconds(50), advance_atom::value);
    }
    return;
  }
  ctx->clock->set(adv.target);
  st.persisting_clock = true;
  persist_clock(self, ctx, [=] {
    auto& st = self->state;
    st.persisting_clock = false;
    for (auto& [name, g] : ctx->gateways)  // retries due on the manual clock (restored after a restart)
      caf::anon_send(g, tick_atom::value, int64_t{0});
    st.advances.front().rp.deliver(static_cast<int64_t>(ctx->clock->now()));
    st.advances.pop_front();
    step_advance(self, ctx);
  });
}

}  // namespace

caf::behavior timer_service(self_ptr self, NodeContext* ctx) {
  self->send(self, tick_atom::value, uint64_t{0});
  return {
    [=](wake_atom, int64_t min_due, const std::vector<TimerKey>& deleted) {
      auto& st = self->state;
      for (auto& k : deleted)
        st.inflight.erase(k);
      if (!st.advances.empty()) {
        step_advance(self, ctx);
        return;
      }
      Millis now = ctx->clock->now();
      if (min_due != 0 && min_due <= now)
        fire_due(self, ctx, now);
      else if (!deleted.empty() && st.inflight.empty())
        fire_due(self, ctx, now);  // capacity freed: pick up the rest
      if (min_due != 0 && (st.armed_for == 0 || min_due < st.armed_for)) {
        st.armed_for = 0;
        arm(self, ctx);
      }
    },
    [=](tick_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != 0 && gen != st.generation)
        return;  // superseded
      st.armed_for = 0;
      fire_due(self, ctx, ctx->clock->now());
      arm(self, ctx);
    },
    [=](advance_atom, int64_t target) -> caf::result<int64_t> {
      if (!ctx->clock->manual())
        return caf::make_error(caf::sec::invalid_argument, "the clock is not manual");
      auto rp = self->make_response_promise<int64_t>();
      self->state.advances.push_back(Advance{std::max<Millis>(target, ctx->clock->now()), rp, steady_ms()});
      if (self->state.advances.size() == 1)
        step_advance(self, ctx);
      return rp;
    },
    [=](advance_atom) {
      self->state.recheck_armed = false;
      auto& st = self->state;
      if (!st.advances.empty() && !st.inflight.empty())
        fire_due(self, ctx, ctx->clock->now());  // re-dispatches stale in-flight timers
      step_advance(self, ctx);
    },
    [=](shutdown_atom) { self->quit(); },
  };
}

caf::actor spawn_timer_service(caf::actor_system& sys, NodeContext* ctx) {
  return sys.spawn(timer_service, ctx);
}

}  // namespace waymark
