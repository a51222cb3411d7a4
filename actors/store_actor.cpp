#include "actors/store_actor.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "actors/messages.hpp"
#include "waymark/recovery.hpp"

namespace waymark {

struct store_state {
  std::vector<CommitItem> items;
  std::vector<std::pair<Batch, caf::typed_response_promise<bool>>> batches;
  std::vector<std::pair<caf::actor, std::string>> barriers;
  bool flush_pending = false;
  bool flush_delayed = false;     // the pending flush is a delayed_send (commit_delay_us_max)
  uint64_t flush_generation = 0;  // a flush_atom of an older generation is stale
  // Customers whose last commit failed: writes of the incarnation that sent it
  // (epoch below the value) are refused: they were computed on top of state
  // that never reached the disk. That incarnation is stopped; its replacement
  // (a higher epoch) starts from the stored state and the log. An entry goes
  // with the next accepted write or the barrier of the customer.
  std::unordered_map<std::string, uint64_t> poisoned;
  // Customers asked to store their state (input log bound) in the last 10 s,
  // oldest first, and the same as a set.
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> asked_order;
  std::unordered_set<std::string> asked;
  static constexpr const char* name = "store";
};

namespace {

void notify_after_commit(NodeContext* ctx, const CommitResult& res) {
  for (auto& [channel, n] : res.outbox_added) {
    auto g = ctx->gateways.find(channel);
    if (g != ctx->gateways.end())
      caf::anon_send(g->second, outbox_atom::value);
  }
  if (res.min_timer_due != 0 || !res.timers_deleted.empty())
    caf::anon_send(ctx->timer_service, wake_atom::value, res.min_timer_due, res.timers_deleted);
}

/// Bounds the input log (limits.log_records_max): the customers whose oldest
/// uncovered input lies further back are asked to store their state, so the
/// log can be trimmed behind them. Each is asked once per 10 s at most, and
/// per commit about as many as the commit wrote (`budget`): snapshots keep
/// pace with the inflow instead of arriving as one burst that stalls acks.
void request_snapshots(caf::stateful_actor<store_state>* self, NodeContext* ctx, size_t budget) {
  auto& st = self->state;
  auto limit = ctx->config.limits.log_records_max;
  if (ctx->store->log_records() <= limit)
    return;
  auto now = std::chrono::steady_clock::now();
  while (!st.asked_order.empty() && now - st.asked_order.front().first > std::chrono::seconds(10)) {
    st.asked.erase(st.asked_order.front().second);
    st.asked_order.pop_front();
  }
  for (auto& id : ctx->store->oldest_dirty(limit / 2, budget)) {
    if (!st.asked.insert(id).second)
      continue;
    st.asked_order.emplace_back(now, id);
    caf::anon_send(ctx->router.route(id), snapshot_atom::value, id);
  }
}

/// After a failed commit: the customer actors whose writes failed hold a
/// state ahead of the disk, so each is stopped; its manager restarts it from
/// the stored state and the log (the down handler in journey_manager.cpp).
void restart_writers(caf::stateful_actor<store_state>* self, const std::vector<CommitItem*>& failed) {
  std::unordered_set<caf::actor> stopped;
  for (auto* it : failed)
    if (it->sender && stopped.insert(it->sender).second)
      self->send_exit(it->sender, caf::exit_reason::user_shutdown);
}

/// After a failed commit: merges in it moved nothing, so the managers of the
/// merged ids drop the redirects set for them (and replay their logs).
void undo_redirects(NodeContext* ctx, const Batch& failed) {
  for (auto& w : failed.customers)
    for (auto& from : w.aliases_from)
      caf::anon_send(ctx->router.route_local(from), unalias_atom::value, from, w.customer);  // redirects are local
}

void flush(caf::stateful_actor<store_state>* self, NodeContext* ctx) {
  auto& st = self->state;
  st.flush_pending = false;
  ++st.flush_generation;
  if (st.items.empty() && st.batches.empty() && st.barriers.empty())
    return;
  Batch b;
  size_t writes = st.items.size();
  for (auto& [extra, rp] : st.batches)
    writes += extra.customers.size();
  b.customers.reserve(writes);  // each write moved once (a CustomerWrite is ~20 members)
  std::vector<CommitItem*> accepted;
  std::vector<CommitItem*> refused;
  accepted.reserve(st.items.size());
  for (auto& it : st.items) {
    auto p = st.poisoned.find(it.write.customer);
    if (p != st.poisoned.end() && it.epoch < p->second) {
      refused.push_back(&it);
      continue;
    }
    if (p != st.poisoned.end())
      st.poisoned.erase(p);
    accepted.push_back(&it);
    b.customers.push_back(std::move(it.write));
  }
  for (auto& [extra, rp] : st.batches) {
    // (after the items: b.customers[i] is accepted[i]'s write for i < accepted.size())
    for (auto& c : extra.customers)  // a merge across owners finished (cluster_merge.cpp)
      b.customers.push_back(std::move(c));
    for (auto& d : extra.deliveries)
      b.deliveries.push_back(std::move(d));
    for (auto& j : extra.journeys)
      b.journeys.push_back(std::move(j));
    for (auto& t : extra.templates)
      b.templates.push_back(std::move(t));
    for (auto& m : extra.meta)
      b.meta.push_back(std::move(m));
    for (auto& a : extra.audit)
      b.audit.push_back(std::move(a));
    for (auto& k : extra.meta_erase)
      b.meta_erase.push_back(std::move(k));
  }
  auto t0 = std::chrono::steady_clock::now();
  auto res = b.empty() ? Result<CommitResult>(CommitResult{}) : ctx->store->commit(b);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  ctx->metrics.commits.fetch_add(1, std::memory_order_relaxed);
  ctx->metrics.commit_us_total.fetch_add(static_cast<uint64_t>(us), std::memory_order_relaxed);
  ctx->metrics.commit_events.fetch_add(accepted.size(), std::memory_order_relaxed);
  if (!b.empty()) {
    ctx->metrics.commit_batch.observe(static_cast<double>(b.customers.size()));
    ctx->metrics.commit_seconds.observe(static_cast<double>(us) / 1e6);
  }
  // Group acks per origin so each connection gets one message per commit.
  std::unordered_map<caf::actor, AckBatch> acks;
  std::unordered_map<caf::actor, NackBatch> nacks;
  auto nack_all = [&](CommitItem* it, const std::string& why) {
    for (auto& a : it->acks)
      if (a.origin)
        nacks[a.origin].lines.emplace_back(a.line, why);
  };
  for (auto* it : refused)
    nack_all(it, "customer state was reset after a failed commit; retry");
  if (res) {
    for (auto* it : accepted)
      for (auto& a : it->acks)
        if (a.origin)
          acks[a.origin].lines.push_back(a.line);
    for (auto& [extra, rp] : st.batches)
      rp.deliver(true);
    notify_after_commit(ctx, *res);
  } else {
    ctx->metrics.commit_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("[store] commit of {} writes failed: {}", b.customers.size(), res.error().message);
    for (size_t i = 0; i < accepted.size(); ++i) {
      nack_all(accepted[i], "store error: " + res.error().code + "; retry");
      // accepted[i]->write was moved into b.customers[i].
      st.poisoned[b.customers[i].customer] = accepted[i]->epoch + 1;
    }
    restart_writers(self, accepted);
    undo_redirects(ctx, b);
    for (auto& [extra, rp] : st.batches)
      rp.deliver(caf::make_error(caf::sec::runtime_error, res.error().message));
  }
  for (auto& [origin, a] : acks)
    caf::anon_send(origin, acked_atom::value, std::move(a));
  for (auto& [origin, n] : nacks)
    caf::anon_send(origin, nacked_atom::value, std::move(n));
  for (auto& [mgr, id] : st.barriers) {
    // The customer's actor stopped with inputs logged after its snapshot (it
    // crashed, or could not answer): its next incarnation starts from the
    // stored state, so replay those inputs into it first.
    if (ctx->store->dirty(id)) {
      auto rec = recover_log(*ctx->store, ctx->config, ctx->catalog.get(), &id);
      if (rec)
        spdlog::info("[store] customer {}: {} logged inputs replayed into its stored state", id, rec->inputs);
      else
        spdlog::error("[store] customer {}: replaying its logged inputs failed: {}", id, rec.error().message);
    }
    bool poisoned = st.poisoned.erase(id) > 0;  // every write of the old incarnation was handled above
    caf::anon_send(mgr, drained_atom::value, id, poisoned);
  }
  st.items.clear();
  st.batches.clear();
  st.barriers.clear();
  request_snapshots(self, ctx, std::max<size_t>(64, accepted.size()));
}

/// Group commit, sized by count and by time: a batch is committed when it holds
/// limits.commit_batch_events_max writes, or limits.commit_delay_us_max after
/// its first write arrived (0: as soon as the mailbox holds nothing older).
/// Writes that arrive while a commit's fsync runs wait in the mailbox and form
/// the next batch, so under load batches grow without any delay.
void schedule_flush(caf::stateful_actor<store_state>* self, NodeContext* ctx) {
  auto& st = self->state;
  if (st.items.size() >= ctx->config.limits.commit_batch_events_max) {
    flush(self, ctx);
    return;
  }
  auto delay = ctx->config.limits.commit_delay_us_max;
  bool now = delay == 0 || !st.batches.empty() || !st.barriers.empty();  // admin batches and barriers do not wait
  if (st.flush_pending && !(now && st.flush_delayed))
    return;
  st.flush_pending = true;
  st.flush_delayed = !now;
  if (now)
    self->send(self, flush_atom::value, st.flush_generation);
  else
    self->delayed_send(self, std::chrono::microseconds(delay), flush_atom::value, st.flush_generation);
}

}  // namespace

caf::behavior store_actor(caf::stateful_actor<store_state>* self, NodeContext* ctx) {
  return {
    [=](commit_atom, CommitItem& item) {
      item.sender = caf::actor_cast<caf::actor>(self->current_sender());
      self->state.items.push_back(std::move(item));
      schedule_flush(self, ctx);
    },
    [=](batch_atom, Batch& b) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      self->state.batches.emplace_back(std::move(b), rp);
      schedule_flush(self, ctx);
      return rp;
    },
    [=](barrier_atom, const std::string& id) {
      self->state.barriers.emplace_back(caf::actor_cast<caf::actor>(self->current_sender()), id);
      schedule_flush(self, ctx);
    },
    [=](flush_atom, uint64_t generation) {
      if (generation == self->state.flush_generation)
        flush(self, ctx);
    },
    // Partition hand-off (actors/cluster_handoff.hpp): a peer's chunk stored
    // here; the moved partitions' records erased once their owner has them.
    [=](handoff_atom, const HandoffChunk& chunk) -> caf::result<bool> {
      flush(self, ctx);
      auto res = ctx->store->import_chunk(chunk);
      if (!res)
        return caf::make_error(caf::sec::runtime_error, res.error().message);
      ctx->metrics.cluster_handoff_records_in.fetch_add(chunk.records.size(), std::memory_order_relaxed);
      notify_after_commit(ctx, *res);
      return true;
    },
    [=](handoff_atom, const std::vector<uint32_t>& partitions) -> caf::result<uint64_t> {
      flush(self, ctx);
      std::set<uint32_t> moving(partitions.begin(), partitions.end());
      auto n = ctx->store->erase_moved(
        [&](std::string_view key) { return moving.count(ctx->router.partition_of(key)) > 0; },
        [&](std::string_view key) { return ctx->ownership.owns(ctx->router.partition_of(key)); });
      if (!n)
        return caf::make_error(caf::sec::runtime_error, n.error().message);
      return static_cast<uint64_t>(*n);
    },
    [=](erase_atom, const std::string& id, int64_t audit_at, const std::string& audit) -> caf::result<uint64_t> {
      flush(self, ctx);  // earlier writes of this customer land first, then go
      AuditPut entry{audit_at, audit};
      auto n = ctx->store->erase_customer(id, audit.empty() ? nullptr : &entry);
      if (!n)
        return caf::make_error(caf::sec::runtime_error, n.error().message);
      auto s = ctx->store->scrub();
      if (!s)
        return caf::make_error(caf::sec::runtime_error, s.error().message);
      spdlog::info("[store] erased a customer: {} entries, data files rewritten", *n);
      return static_cast<uint64_t>(*n);
    },
  };
}

caf::actor spawn_store_actor(caf::actor_system& sys, NodeContext* ctx) {
  return sys.spawn<caf::detached>(store_actor, ctx);
}

}  // namespace waymark
