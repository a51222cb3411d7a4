#include "actors/customer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include <unordered_set>

#include "actors/messages.hpp"
#include "waymark/json.hpp"
#include "waymark/recovery.hpp"
#include "waymark/snapshot_policy.hpp"

namespace json = boost::json;

namespace waymark {

struct customer_state_holder {
  CustomerState s;
  uint64_t epoch = 0;                        // see CommitItem::epoch
  std::unordered_set<std::string> seen_ids;  // messageIds handled by this incarnation
  // True while seen_ids holds every messageId ever stored for this customer
  // (it started with no dedup key in LMDB and the set was never cleared): then
  // a miss in seen_ids is a miss in LMDB too, and the read is skipped.
  bool seen_complete = false;
  // Input log (store.hpp): inputs committed since the state was last stored,
  // and the messageIds among them, whose dedup keys go with the next snapshot.
  uint32_t unsnapshotted = 0;
  uint64_t logged_bytes = 0;  // of those inputs
  uint64_t state_bytes = 0;   // size of the state last stored or loaded (snapshot_due)
  bool stored = false;  // a state of this customer is in LMDB (loaded, or a snapshot sent)
  std::vector<std::pair<std::string, Millis>> pending_ids;
  // The MergeWaits ticket of the merge this actor waits for (0: none); shared
  // with the functor that ends the wait when the actor dies while waiting.
  std::shared_ptr<uint64_t> merge_ticket = std::make_shared<uint64_t>(0);
  static constexpr const char* name = "customer";
};

namespace {

using self_ptr = caf::stateful_actor<customer_state_holder>*;

/// The customer's committed state, a fresh one when none is stored, or nothing
/// when the stored bytes cannot be read back (the caller must not overwrite them).
std::optional<CustomerState> load_state(NodeContext* ctx, const std::string& id, bool& seen_complete,
                                       bool& stored) {
  auto load = ctx->store->load_customer(id);
  seen_complete = !load.dedup_keys;
  stored = load.state.has_value();
  auto& raw = load.state;
  if (!raw) {
    CustomerState s;
    s.id = id;
    return s;
  }
  std::error_code ec;
  auto v = parse_stored_json(*raw, ec);
  std::string why = ec ? ec.message() : std::string();
  if (!ec) {
    auto parsed = customer_from_json(v);
    if (parsed)
      return std::move(*parsed);
    why = parsed.error().message;
  }
  spdlog::error("[customer={}] stored state unreadable ({}); its events are refused and the state is kept as is",
                id, why);
  return std::nullopt;
}

std::vector<TimerKey> timer_keys(const std::string& customer, const std::vector<TimerRef>& refs) {
  std::vector<TimerKey> out;
  out.reserve(refs.size());
  for (auto& r : refs)
    out.push_back(TimerKey{r.due, customer, r.id});
  return out;
}

/// Every pending timer of a state (used when its customer is merged away).
std::vector<TimerKey> pending_timers(const CustomerState& s) {
  std::vector<TimerKey> out;
  for (auto& in : s.instances) {
    if (!in.timer_id.empty())
      out.push_back(TimerKey{in.timer_due, s.id, in.timer_id});
    if (!in.timeout_timer_id.empty())
      out.push_back(TimerKey{in.timeout_due, s.id, in.timeout_timer_id});
  }
  return out;
}

/// Makes `w` carry the whole state (a snapshot): it covers every input logged before.
void take_snapshot(self_ptr self, CustomerWrite& w) {
  auto& st = self->state;
  w.customer = st.s.id;
  w.state_json = serialize_state(st.s);
  st.state_bytes = w.state_json.size();
  st.logged_bytes = 0;
  w.log_input.clear();
  w.dedup_ids = std::move(st.pending_ids);
  st.pending_ids.clear();
  st.unsnapshotted = 0;
  st.stored = true;
}

/// Commits what one input did. `input` is the input as logged, moved from (nullptr: the
/// input changed nothing that must be kept, e.g. a duplicate). The state is
/// stored when snapshot_due() says so (limits.snapshot_every inputs, and as
/// many logged bytes as the state's size) or when `snapshot` (a merge); in
/// between only the input is appended to the log.
void send_commit(self_ptr self, NodeContext* ctx, Decision& d, std::vector<AckTarget> acks, CustomerWrite&& w,
                 std::string* input, bool snapshot = false) {
  auto& st = self->state;
  w.customer = st.s.id;
  if (input) {
    st.logged_bytes += input->size();
    if (snapshot ||
        snapshot_due(++st.unsnapshotted, st.logged_bytes, st.state_bytes, ctx->config.limits.snapshot_every))
      take_snapshot(self, w);
    else {
      w.log_input = std::move(*input);  // the caller is done with it
      w.stored = st.stored ? CustomerWrite::Stored::yes : CustomerWrite::Stored::no;
    }
  }
  w.deliveries = std::move(d.deliveries);
  auto set = timer_keys(st.s.id, d.timers_set);
  w.timers_set.insert(w.timers_set.end(), set.begin(), set.end());
  auto cleared = timer_keys(st.s.id, d.timers_cleared);
  w.timers_cleared.insert(w.timers_cleared.end(), cleared.begin(), cleared.end());
  w.stats = std::move(d.stats);
  w.touches = std::move(d.touches);
  w.conversions = std::move(d.conversions);
  w.arms = std::move(d.arms);
#ifndef WAYMARK_NO_OUTCOME_RECORDS  // a benchmark build (CMakeLists.txt)
  prepare_outcomes(w);  // the records' JSON made here, not on the store's writer thread
#endif
  self->send(ctx->store_actor, commit_atom::value, CommitItem{std::move(w), std::move(acks), st.epoch});
}

/// Stores the state now when inputs were logged since the last snapshot.
void store_snapshot(self_ptr self, NodeContext* ctx) {
  if (self->state.unsnapshotted == 0)
    return;
  CustomerWrite w;
  take_snapshot(self, w);
  self->send(ctx->store_actor, commit_atom::value, CommitItem{std::move(w), {}, self->state.epoch});
}

bool is_duplicate(self_ptr self, NodeContext* ctx, const Event& e, Millis now) {
  if (e.message_id.empty())
    return false;
  auto& st = self->state;
  if (st.seen_ids.count(e.message_id))  // holds the ids not yet in LMDB (pending_ids) too
    return true;
  if (st.seen_complete)
    return false;
  auto at = ctx->store->dedup_at(st.s.id, e.message_id);
  return at && *at + ctx->config.limits.dedup_window_s * 1000 > now;
}

void remember_id(self_ptr self, const std::string& id) {
  auto& seen = self->state.seen_ids;
  if (seen.size() > 2 * kInputsBetweenSnapshotsMax) {  // twice the pending ids kept below at most
    seen.clear();  // bounded; LMDB holds the full window, except the ids of
    self->state.seen_complete = false;
    for (auto& p : self->state.pending_ids)  // inputs since the last snapshot: kept
      seen.insert(p.first);
  }
  seen.insert(id);
}

void process_event(self_ptr self, NodeContext* ctx, EventMsg& m, CustomerWrite&& w) {
  auto& st = self->state;
  Millis now = ctx->clock->now();
  std::vector<AckTarget> acks;
  if (m.ack.origin)
    acks.push_back(m.ack);
  if (!m.settles.empty())
    w.meta_erase.push_back(std::move(m.settles));
  if (is_duplicate(self, ctx, m.event, now)) {
    ctx->metrics.events_deduplicated.fetch_add(1, std::memory_order_relaxed);
    Decision none;
    send_commit(self, ctx, none, std::move(acks), std::move(w), nullptr);  // ack after earlier commits
    return;
  }
  auto cat = ctx->catalog.get();
  Decision d = on_event(st.s, *cat, m.event, now);
  if (!m.event.message_id.empty()) {
    remember_id(self, m.event.message_id);
    st.pending_ids.emplace_back(m.event.message_id, now);
  }
  // A merge stores the merged state at once: it is not a replayable input.
  bool merge = !w.aliases_from.empty() || !w.erase_customers.empty();
  auto input = merge ? std::string() : encode_event_input(m.event, now, cat->generation);
  send_commit(self, ctx, d, std::move(acks), std::move(w), &input, merge);
}

/// The id that an alias / identify-with-both-ids asks to merge into this one.
std::string merge_source(const CustomerState& s, const Event& e) {
  std::string other;
  if (e.type == EventType::alias)
    other = e.previous_id;
  else if (e.type == EventType::identify && !e.user_id.empty() && !e.anonymous_id.empty())
    other = e.anonymous_id;
  if (other.empty() || other == s.id)
    return {};
  for (auto& m : s.merged_ids)
    if (m == other)
      return {};
  return other;
}

/// Nacks a merge that may not wait (MergeWaits::begin refused it). Retryable:
/// once the other merge has committed, the same line finds both ids resolved
/// to one customer (then it merges nothing).
void refuse_merge(NodeContext* ctx, const AckTarget& a, const Error& why) {
  spdlog::info("[merge] refused: {}", why.message);
  ctx->metrics.nack(why.code);
  if (a.origin)
    caf::anon_send(a.origin, nacked_atom::value, NackBatch{{{a.line, why.message + "; retry"}}, true});
}

void end_merge_wait(self_ptr self, NodeContext* ctx) {
  auto& ticket = *self->state.merge_ticket;
  ctx->merges.end(self->state.s.id, ticket);
  ticket = 0;
}

/// Tells the manager that sent an event that it is handled: its write is on
/// its way to the store (which acks or nacks it from there), or it was
/// refused with a nack. The manager nacks the events not handled when this
/// actor stops unexpectedly (journey_manager.cpp). A send, not a response:
/// a manager with thousands of requests outstanding to one hot customer
/// spent half its CPU in CAF's bookkeeping of them.
void handled(self_ptr self, const caf::actor& manager) {
  if (manager)
    self->send(manager, done_atom::value);
}

void handle_event(self_ptr self, NodeContext* ctx, EventMsg& m, const caf::actor& manager) {
  auto& st = self->state;
  std::string other = merge_source(st.s, m.event);
  if (other.empty()) {
    process_event(self, ctx, m, CustomerWrite{});
    return handled(self, manager);
  }
  // Merge: the other customer's manager hands its state over; nothing else
  // is processed by this actor until it arrives (await). A wait that would
  // close a cycle of customers waiting for each other is refused instead.
  auto ticket = ctx->merges.begin(st.s.id, other);
  if (!ticket) {
    refuse_merge(ctx, m.ack, ticket.error());
    return handled(self, manager);
  }
  *st.merge_ticket = *ticket;
  // `other` owned by another member: its state comes through this node's
  // merger (actors/cluster_merge.cpp), which finishes the handover there.
  const bool remote = ctx->merger && ctx->router.route(other) != ctx->router.route_local(other);
  auto& from_actor = remote ? ctx->merger : ctx->router.route(other);
  self->request(from_actor, std::chrono::seconds(30), handover_atom::value, other, st.s.id)
    .await(
      [=](const std::string& raw) mutable {
        auto& st = self->state;
        CustomerWrite w;
        w.aliases_from.push_back(other);
        Decision merged;
        if (!raw.empty()) {
          std::error_code ec;
          auto v = parse_stored_json(raw, ec);
          auto from = ec ? Result<CustomerState>(make_error("bad_json", ec.message())) : customer_from_json(v);
          if (from) {
            for (auto& id : from->merged_ids)
              w.aliases_from.push_back(id);
            if (!remote) {  // else its owner erases it and its timers when the merge is finished
              w.erase_customers.push_back(from->id);
              w.timers_cleared = pending_timers(*from);
            }
            merged = merge_customer(st.s, std::move(*from), *ctx->catalog.get(), ctx->clock->now());
          }
        }
        // merge_customer records the id; an empty handover (never-seen id) does not.
        if (std::find(st.s.merged_ids.begin(), st.s.merged_ids.end(), other) == st.s.merged_ids.end())
          st.s.merged_ids.push_back(other);
        // The merge's own timers and stats ride along with the event's commit.
        auto msg = m;
        auto set = timer_keys(st.s.id, merged.timers_set);
        w.timers_set.insert(w.timers_set.end(), set.begin(), set.end());
        w.stats = std::move(merged.stats);
        process_event(self, ctx, msg, std::move(w));
        // The wait ends once the merge's commit is on its way to the store: a
        // member asking whether this merge happened (cluster_merge.cpp) hears
        // "still in flight" until then, and the store's answer after.
        end_merge_wait(self, ctx);
        handled(self, manager);
      },
      [=](caf::error& err) mutable {
        end_merge_wait(self, ctx);
        spdlog::warn("[customer={}] merge of {} failed: {}", self->state.s.id, other, self->system().render(err));
        refuse_merge(ctx, m.ack, make_error("retry", "customer " + self->state.s.id + ": merge of " + other + " failed"));
        handled(self, manager);
      });
}

}  // namespace

/// A customer whose stored state cannot be read: nothing it does may write that
/// state, so events are refused (nack `customer_state_unreadable`), a merge
/// cannot take it over, and its due timers are dropped (logged) so that they do
/// not hold the timer service; the bytes stay in LMDB for an operator.
caf::behavior unreadable_customer(self_ptr self, NodeContext* ctx) {
  ctx->metrics.customers_unreadable.fetch_add(1, std::memory_order_relaxed);
  auto refuse = [] { return caf::make_error(caf::sec::invalid_argument, kStateUnreadable); };
  return {
    [=](event_atom, EventMsg& m) {
      ctx->metrics.nack(kStateUnreadable);
      if (m.ack.origin)
        caf::anon_send(m.ack.origin, nacked_atom::value,
                       NackBatch{{{m.ack.line, "customer " + self->state.s.id + ": stored state unreadable (see the node log)"}},
                                 false});
      handled(self, caf::actor_cast<caf::actor>(self->current_sender()));
    },
    [=](timer_atom, const TimerKey& t) -> bool {
      spdlog::error("[customer={}] timer {} dropped: the customer's state is unreadable", t.customer, t.timer_id);
      CustomerWrite w;
      w.customer = t.customer;
      w.timers_cleared.push_back(t);
      self->send(ctx->store_actor, commit_atom::value, CommitItem{std::move(w), {}, self->state.epoch});
      return true;
    },
    [=](handover_atom) -> caf::result<std::string> { return refuse(); },
    [=](state_atom) -> caf::result<std::string> { return refuse(); },
    [=](snapshot_atom) {},
    [=](shutdown_atom) -> bool {
      self->quit();
      return true;
    },
  };
}

caf::behavior customer_actor(self_ptr self, NodeContext* ctx, std::string id) {
  ctx->metrics.customers_live.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor([ctx] { ctx->metrics.customers_live.fetch_sub(1, std::memory_order_relaxed); });
  self->state.epoch = ctx->customer_epochs.fetch_add(1, std::memory_order_relaxed) + 1;
  auto loaded = load_state(ctx, id, self->state.seen_complete, self->state.stored);
  if (!loaded) {
    self->state.s.id = id;
    return unreadable_customer(self, ctx);
  }
  self->state.s = std::move(*loaded);
  self->attach_functor([ctx, id, ticket = self->state.merge_ticket] {
    if (*ticket != 0)
      ctx->merges.end(id, *ticket);
  });
  self->set_exception_handler([=](std::exception_ptr& ep) -> caf::error {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      spdlog::error("[customer={}] crashed: {}", self->state.s.id, e.what());
    } catch (...) {
      spdlog::error("[customer={}] crashed", self->state.s.id);
    }
    return caf::make_error(caf::sec::runtime_error, "customer crashed");
  });
  return {
    [=](event_atom, EventMsg& m) { handle_event(self, ctx, m, caf::actor_cast<caf::actor>(self->current_sender())); },
    [=](timer_atom, const TimerKey& t) -> bool {
      auto& st = self->state;
      auto cat = ctx->catalog.get();
      Millis now = ctx->clock->now();
      Decision d = on_timer(st.s, *cat, t.timer_id, now);
      CustomerWrite w;
      w.timers_cleared.push_back(t);  // the fired timer goes, stale or not
      ctx->metrics.timers_fired.fetch_add(1, std::memory_order_relaxed);
      auto input = encode_timer_input(t.timer_id, now, cat->generation);
      send_commit(self, ctx, d, {}, std::move(w), &input);
      return true;
    },
    [=](handover_atom) -> std::string {
      auto raw = serialize_state(self->state.s);
      self->quit();
      return raw;
    },
    [=](state_atom) -> std::string { return serialize_state(self->state.s); },
    [=](snapshot_atom) { store_snapshot(self, ctx); },
    // Passivation: the state is stored (if inputs were logged since) before
    // the answer, so the manager's barrier reaches the store after it.
    [=](shutdown_atom) -> bool {
      store_snapshot(self, ctx);
      self->quit();
      return true;
    },
  };
}

caf::actor spawn_customer(caf::event_based_actor* parent, NodeContext* ctx, std::string id) {
  return parent->spawn<caf::monitored>(customer_actor, ctx, std::move(id));
}

}  // namespace waymark
