#include "actors/channel_gateway.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include "actors/messages.hpp"
#include "waymark/engagement.hpp"
#include "waymark/event_interest.hpp"
#include "waymark/json.hpp"
#include "channel/delivery_policy.hpp"
#include "channel/provider.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

using delivered_atom = caf::atom_constant<caf::atom("dlvdone")>;  // outcomes are queued (provider thread)

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// An outbox entry held in memory.
struct Entry {
  uint64_t seq = 0;
  std::string id;
  json::object record;
  int attempts = 0;  // attempts already made (restored from the deliveries DB after a restart)
  Millis retry_at = 0;  // a waiting retry: due on the node clock (persisted with the status)
};

/// Outcomes reported by provider threads, drained by the gateway.
struct OutcomeQueue {
  std::mutex mu;
  std::vector<std::pair<uint64_t, DeliveryOutcome>> items;
};

}  // namespace

struct gateway_state {
  ChannelConfig cfg;
  std::unique_ptr<Provider> provider;
  std::set<std::string> held;  // ids the provider already has (crash recovery)
  RetryPolicy retry;
  std::optional<TokenBucket> bucket;
  std::mt19937_64 rng{std::random_device{}()};
  std::shared_ptr<OutcomeQueue> outcomes = std::make_shared<OutcomeQueue>();
  DeliveryDone done;

  uint64_t scan_after = 0;                // highest outbox seq loaded into memory
  bool maybe_more = true;                 // the outbox may hold entries after scan_after
  std::deque<Entry> ready;                // may start now (waiting for a slot or a token)
  std::multimap<int64_t, Entry> backoff;  // steady ms due -> entry waiting to retry
  std::map<uint64_t, Entry> in_flight;    // started, outcome not yet reported
  std::vector<DeliveryUpdate> updates;    // outcomes not yet sent to the store
  size_t committing = 0;                  // updates inside the store request
  bool busy = false;                      // a store request is outstanding
  bool broken = false;                    // no provider: entries stay on disk
  int64_t wake_at = 0;                    // steady ms of the scheduled tick, 0 = none
  size_t window_max = 0;                  // entries held in memory at most
  // The events the catalog's journeys react to, as of catalog `interest_of`
  // (a final status owes its "Message <Status>" event only when wanted).
  uint64_t interest_of = ~uint64_t{0};
  EventInterest interest;
  static constexpr const char* name = "channel_gateway";

  size_t in_memory() const {
    return ready.size() + backoff.size() + in_flight.size() + updates.size() + committing;
  }
};

namespace {

using self_ptr = caf::stateful_actor<gateway_state>*;

void pump(self_ptr self, NodeContext* ctx);

/// Whether some journey of the current catalog reacts to this final status's event.
bool wants_status_event(gateway_state& st, NodeContext* ctx, const std::string& status) {
  auto name = engagement::event_name(status);
  if (!name)
    return false;
  CatalogPtr cat = ctx->catalog.get();
  if (cat->generation != st.interest_of) {
    st.interest = event_interest(*cat);
    st.interest_of = cat->generation;
  }
  return st.interest.wants(*name);
}

DeliveryUpdate update_for(const gateway_state& st, const Entry& e, std::string status, std::string detail) {
  DeliveryUpdate u;
  u.channel = st.cfg.name;
  u.seq = e.seq;
  u.id = e.id;
  u.status = std::move(status);
  u.attempts = e.attempts;
  u.detail = std::move(detail);
  return u;
}

/// Restores what the deliveries DB keeps of earlier attempts (after a restart).
void restore_attempts(NodeContext* ctx, Entry& e) {
  auto st = ctx->store->delivery_status(e.id);
  if (!st)
    return;
  std::error_code ec;
  auto v = parse_stored_json(*st, ec);
  if (ec || !v.is_object())
    return;
  auto* a = v.get_object().if_contains("attempts");
  e.attempts = a && a->is_int64() ? static_cast<int>(a->get_int64()) : 0;
  auto* r = v.get_object().if_contains("retry_at");
  e.retry_at = r && r->is_int64() ? r->get_int64() : 0;
}

/// Queues a loaded entry: a retry still waiting (restored) goes back to waiting.
void enqueue(gateway_state& st, NodeContext* ctx, Entry e) {
  Millis now = ctx->clock->now();
  if (e.retry_at > now)
    st.backoff.emplace(steady_ms() + (e.retry_at - now), std::move(e));
  else
    st.ready.push_back(std::move(e));
}

/// False (and counted) when the entry's outbox entry is gone: its customer
/// was erased while the entry was held here, so it must not be sent.
bool still_owed(gateway_state& st, NodeContext* ctx, const Entry& e) {
  if (ctx->store->outbox_has(st.cfg.name, e.seq))
    return true;
  ctx->metrics.deliveries_dropped.fetch_add(1, std::memory_order_relaxed);
  return false;
}

/// False for an entry whose customer's partition another cluster member owns.
bool owned_here(NodeContext* ctx, const boost::json::object& record) {
  if (!ctx->view)
    return true;
  auto* c = record.if_contains("customer");
  return !c || !c->is_string() || ctx->ownership.owns(ctx->router.partition_of(c->get_string()));
}

/// Loads outbox entries after scan_after while the in-memory window has room.
void load(self_ptr self, NodeContext* ctx) {
  auto& st = self->state;
  if (!st.maybe_more || st.in_memory() >= st.window_max)
    return;
  size_t want = std::min(st.window_max - st.in_memory(), ctx->config.limits.delivery_batch_max);
  auto recs = ctx->store->outbox_scan(st.cfg.name, st.scan_after, want);
  st.maybe_more = recs.size() == want;
  for (auto& r : recs) {
    st.scan_after = r.seq;
    Entry e;
    e.seq = r.seq;
    std::error_code ec;
    auto v = parse_stored_json(r.record, ec);
    if (ec || !v.is_object()) {
      st.updates.push_back(update_for(st, e, "failed", "unreadable outbox record"));
      continue;
    }
    e.record = std::move(v.get_object());
    if (!owned_here(ctx, e.record))
      continue;  // another member owns its customer now: the entry moves there (hand-off)
    if (auto* id = e.record.if_contains("id"); id && id->is_string())
      e.id = std::string(id->get_string());
    restore_attempts(ctx, e);
    if (st.held.erase(e.id)) {
      e.attempts = std::max(e.attempts, 1);
      st.updates.push_back(update_for(st, e, "delivered", "recovered after restart"));
      continue;
    }
    enqueue(st, ctx, std::move(e));
  }
}

/// Moves waiting retries that are due to `ready`: by steady time, or (manual
/// clock) once the node clock has reached their retry_at.
void release_due(gateway_state& st, NodeContext* ctx, int64_t now) {
  while (!st.backoff.empty() && st.backoff.begin()->first <= now) {
    st.ready.push_back(std::move(st.backoff.begin()->second));
    st.backoff.erase(st.backoff.begin());
  }
  if (!ctx->clock->manual())
    return;
  Millis clock_now = ctx->clock->now();
  for (auto it = st.backoff.begin(); it != st.backoff.end();) {
    if (it->second.retry_at == 0 || it->second.retry_at > clock_now) {
      ++it;
      continue;
    }
    st.ready.push_back(std::move(it->second));
    it = st.backoff.erase(it);
  }
}

/// Starts attempts while a slot and a token are free.
void start_ready(self_ptr self, NodeContext* ctx, int64_t now) {
  auto& st = self->state;
  release_due(st, ctx, now);
  std::vector<DeliveryJob> jobs;
  while (!st.ready.empty() && st.in_flight.size() < st.cfg.in_flight_max) {
    if (!still_owed(st, ctx, st.ready.front())) {
      st.ready.pop_front();
      continue;
    }
    if (!st.bucket->take(now))
      break;
    Entry e = std::move(st.ready.front());
    st.ready.pop_front();
    jobs.push_back(DeliveryJob{e.seq, e.id, e.attempts + 1, e.record});
    st.in_flight.emplace(e.seq, std::move(e));
  }
  if (!jobs.empty())
    st.provider->start(std::move(jobs), st.done);
}

void apply_outcome(self_ptr self, NodeContext* ctx, uint64_t seq, DeliveryOutcome o) {
  auto& st = self->state;
  auto it = st.in_flight.find(seq);
  if (it == st.in_flight.end())
    return;
  Entry e = std::move(it->second);
  st.in_flight.erase(it);
  ++e.attempts;
  auto& m = ctx->metrics;
  using S = DeliveryOutcome::Status;
  if (o.status == S::retry && may_retry(st.retry, e.attempts)) {
    m.deliveries_retried.fetch_add(1, std::memory_order_relaxed);
    if (!still_owed(st, ctx, e))
      return;
    int64_t delay = retry_delay_ms(st.retry, e.attempts, o.retry_after_ms, st.rng);
    auto u = update_for(st, e, "pending", "attempt " + std::to_string(e.attempts) + ": " + o.detail + "; retry in " +
                                            std::to_string(delay) + " ms");
    u.final = false;
    e.retry_at = u.retry_at = ctx->clock->now() + delay;
    st.updates.push_back(std::move(u));
    st.backoff.emplace(steady_ms() + delay, std::move(e));
    return;
  }
  std::string status = o.status == S::retry ? "dead" : status_name(o.status);
  std::string detail = o.status == S::retry ? "gave up after " + std::to_string(e.attempts) + " attempts: " + o.detail
                                            : o.detail;
  auto u = update_for(st, e, status, detail);
  auto text_of = [&](const char* k) {
    auto* v = e.record.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  u.journey = text_of("journey");
  u.step = text_of("step");
  u.owes_event = wants_status_event(st, ctx, status);
  if (auto* v = e.record.if_contains("version"); v && v->is_int64())
    u.version = static_cast<int>(v->get_int64());
  if (!o.inbox_json.empty()) {
    auto* c = e.record.if_contains("customer");
    u.inbox_customer = c && c->is_string() ? std::string(c->get_string()) : std::string();
    u.inbox_json = std::move(o.inbox_json);
  }
  st.updates.push_back(std::move(u));
  m.delivery_outcome(st.cfg.name, status);
  if (status == "delivered") {
    m.deliveries_written.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  m.deliveries_failed.fetch_add(1, std::memory_order_relaxed);
  if (status == "dead") {
    m.deliveries_dead.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("[gateway={}] dead letter {}: {}", st.cfg.name, e.id, detail);
  } else if (status == "unknown") {
    m.deliveries_unknown.fetch_add(1, std::memory_order_relaxed);
  }
}

void drain_outcomes(self_ptr self, NodeContext* ctx) {
  std::vector<std::pair<uint64_t, DeliveryOutcome>> items;
  {
    std::lock_guard<std::mutex> g(self->state.outcomes->mu);
    items.swap(self->state.outcomes->items);
  }
  for (auto& [seq, o] : items)
    apply_outcome(self, ctx, seq, std::move(o));
}

void commit_updates(self_ptr self, NodeContext* ctx) {
  auto& st = self->state;
  if (st.busy || st.updates.empty())
    return;
  Batch b;
  b.deliveries = std::move(st.updates);
  st.updates.clear();
  b.meta = st.provider ? st.provider->checkpoint() : std::vector<std::pair<std::string, std::string>>{};
  st.committing = b.deliveries.size();
  st.busy = true;
  auto copy = b.deliveries;  // re-queued when the commit fails
  self->request(ctx->store_actor, caf::infinite, batch_atom::value, std::move(b))
    .then(
      [=](bool) {
        auto& st = self->state;
        st.busy = false;
        st.committing = 0;
        if (ctx->status_events)  // final statuses may owe "Message <Status>" events
          self->send(ctx->status_events, tick_atom::value);
        pump(self, ctx);
      },
      [=](caf::error& err) mutable {
        auto& st = self->state;
        st.busy = false;
        st.committing = 0;
        spdlog::error("[gateway={}] recording deliveries failed (retrying in 1 s): {}", st.cfg.name,
                      self->system().render(err));
        st.updates.insert(st.updates.begin(), copy.begin(), copy.end());
        self->delayed_send(self, std::chrono::seconds(1), tick_atom::value, int64_t{0});
      });
}

/// Schedules one tick at the earliest time a retry or a token becomes due.
void schedule_wake(self_ptr self, int64_t now) {
  auto& st = self->state;
  int64_t due = 0;
  if (!st.backoff.empty())
    due = st.backoff.begin()->first;
  if (!st.ready.empty() && st.in_flight.size() < st.cfg.in_flight_max) {
    int64_t t = now + std::max<int64_t>(1, st.bucket->wait_ms(now));
    due = due == 0 ? t : std::min(due, t);
  }
  if (due == 0 || (st.wake_at != 0 && st.wake_at <= due))
    return;
  st.wake_at = due;
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(0, due - now)), tick_atom::value, due);
}

void pump(self_ptr self, NodeContext* ctx) {
  auto& st = self->state;
  if (st.broken)
    return;
  drain_outcomes(self, ctx);
  load(self, ctx);
  auto now = steady_ms();
  start_ready(self, ctx, now);
  drain_outcomes(self, ctx);  // providers that finish inline (file, inbox)
  load(self, ctx);            // room freed by inline outcomes
  commit_updates(self, ctx);
  schedule_wake(self, now);
}

void init(self_ptr self, NodeContext* ctx, const std::string& channel) {
  auto& st = self->state;
  st.cfg = ctx->config.channels.at(channel);
  st.retry = RetryPolicy::of(st.cfg);
  st.bucket.emplace(st.cfg.rate_per_s, st.cfg.burst, steady_ms());
  st.window_max = ctx->config.limits.delivery_batch_max + st.cfg.in_flight_max;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  auto q = st.outcomes;
  st.done = [q, me](uint64_t seq, DeliveryOutcome o) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> g(q->mu);
      was_empty = q->items.empty();
      q->items.emplace_back(seq, std::move(o));
    }
    if (was_empty)
      caf::anon_send(me, delivered_atom::value);
  };
  auto prov = make_provider(st.cfg, ctx->config.data_dir);
  if (!prov) {
    spdlog::error("[gateway={}] {}", channel, prov.error().message);
    st.broken = true;
    return;
  }
  st.provider = std::move(*prov);
  auto held = st.provider->recover(*ctx->store);
  if (!held) {
    spdlog::error("[gateway={}] recovery failed: {}", channel, held.error().message);
    st.broken = true;
    return;
  }
  st.held = std::move(*held);
}

}  // namespace

caf::behavior channel_gateway(self_ptr self, NodeContext* ctx, std::string channel) {
  init(self, ctx, channel);
  self->send(self, outbox_atom::value);
  return {
    [=](outbox_atom) {
      self->state.maybe_more = true;
      pump(self, ctx);
    },
    [=](delivered_atom) { pump(self, ctx); },
    [=](tick_atom, int64_t due) {
      if (due == self->state.wake_at)
        self->state.wake_at = 0;
      pump(self, ctx);
    },
    [=](shutdown_atom) {
      if (self->state.provider)
        self->state.provider->stop();
      self->state.provider.reset();
      self->state.done = nullptr;  // drops the self handle it holds
      self->quit();
    },
  };
}

caf::actor spawn_channel_gateway(caf::actor_system& sys, NodeContext* ctx, std::string channel) {
  return sys.spawn<caf::detached>(channel_gateway, ctx, std::move(channel));
}

}  // namespace waymark
