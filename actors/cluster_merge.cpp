// Alias merges across two owners (PRODUCT.md §9: "alias across two owners
// merges exactly as on one node. A kill -9 of either node during a merge loses
// no acked event and leaves the customer in exactly one place").
//
// Node 1 owns A, node 2 owns B; an alias (or identify with both ids) merges B
// into A. On one node the merge is one commit (A's merged state + alias B -> A
// + B erased); across nodes it is two commits on two disks, tied together by
// one durable mark at node 2 and one durable fact at node 1:
//
//  1. A's actor (node 1) asks its merger for B; the merger asks node 2's.
//  2. Node 2 marks B "handed to A" in memory (from now on B's events are
//     nacked with retry, its timers wait, nothing spawns it), stops B's actor
//     through its manager (it stores its state; the barrier replays its log),
//     so the stored state is final, then commits the mark (meta "handoffs")
//     and only then answers with B's state (its serialized JSON).
//  3. A merges it and commits A's state with the alias B -> A (node 1's
//     durable fact "A absorbed B"), then acks the event, as on one node.
//  4. Node 2 asks node 1 "did A absorb B?" (at once, then with backoff, and
//     after every restart while the mark exists). Node 1 answers "pending"
//     while A still waits for B's state (MergeWaits: the wait ends only after
//     A's commit went to the store), else, after the store committed what it
//     held, "yes" when it has an alias record of B, "no" otherwise.
//     yes -> node 2 commits, in one transaction, B's erasure (and its timers),
//            the alias B -> A (B's events, which still hash to node 2, follow
//            it to node 1) and the mark's removal: B is gone.
//     no  -> node 2 commits the mark's removal: B is its own again.
//
// Why exactly one place: B's data leaves node 2 only in the answer of step 2,
// which is sent after the mark is durable and while B cannot change; A can
// commit a merge of B only while it waits for that answer. So "no" (A not
// waiting, no alias) is final: a late answer finds no request waiting (CAF
// drops it) and a new request finds the mark (answered the same state) or no
// mark (a new one). "yes" is final too (the alias is durable). Node 2 erases B
// only after "yes" and drops the mark only after an answer, so B is either
// at node 2 unmarked (no merge), marked (A has it or will be told no), or
// erased with A holding it. A kill -9 of node 1 before step 3 commits loses
// the unacked event only (the client resends it; "no" or a repeated handover
// resolves the mark); of node 2 before the mark is durable loses nothing (its
// state was final and unanswered; A's request fails and the event is nacked
// with retry); after, the mark is reloaded at start and resolved as above.
// No note is needed at node 1: node 2's mark drives the resolution.
//
// While node 1 is down a marked B stays marked (its events nacked with retry,
// as for a down owner). Timers, outbox entries and stats move exactly as on
// one node: A re-issues B's instances' timers under A (the merge decision),
// node 2 deletes B's timers with the finish; B's pending outbox entries and
// its stats stay where they were written (stats are summed over members).
#include "actors/cluster_merge.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "actors/customer.hpp"
#include "actors/http_cluster.hpp"
#include "actors/messages.hpp"
#include "waymark/json.hpp"

namespace waymark {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto handover_timeout = std::chrono::seconds(10);
constexpr auto ask_timeout = std::chrono::seconds(5);
constexpr auto tick_every = std::chrono::milliseconds(50);
constexpr const char* kMarksKey = "handoffs";

struct Mark {
  enum Phase { preparing, marked, finishing, aborting } phase = preparing;
  std::string into;
  bool asking = false;
  uint32_t polls = 0;
  Clock::time_point next;  // when to ask the merging member (marked only)
};

struct merger_state {
  std::map<std::string, caf::actor> peers;  // address -> the peer's cluster actor, while up
  std::map<std::string, Mark> marks;        // ctx->handoffs, with each mark's phase
  // Handovers asked of a peer for local customers, unanswered: failed at once
  // (retry) when that peer goes down instead of at their timeout.
  uint64_t next_fetch = 0;
  std::map<uint64_t, std::pair<std::string, caf::typed_response_promise<std::string>>> fetches;
  bool ticking = false;
  static constexpr const char* name = "merger";
};
using merger = caf::stateful_actor<merger_state>;

caf::error retry_error(const std::string& why) { return caf::make_error(caf::sec::request_timeout, why + "; retry"); }

/// The marks to keep durable: those being set up or set; not those whose
/// removal is being committed (a later write must not bring them back).
std::string durable_marks(const merger_state& st) {
  std::map<std::string, std::string> out;
  for (auto& [id, m] : st.marks)
    if (m.phase == Mark::preparing || m.phase == Mark::marked) out[id] = m.into;
  return Handoffs::encode(out);
}

Result<CustomerState> parse_state(const std::string& raw) {
  std::error_code ec;
  auto v = parse_stored_json(raw, ec);
  if (ec) return make_error("bad_json", ec.message());
  return customer_from_json(v);
}

void drop(merger* self, NodeContext* ctx, const std::string& id) {
  self->state.marks.erase(id);
  ctx->handoffs.erase(id);
}

void tick_later(merger* self) {
  if (self->state.ticking || self->state.marks.empty()) return;
  self->state.ticking = true;
  self->delayed_send(self, tick_every, tick_atom::value);
}

void backoff(merger* self, Mark& m) {
  m.asking = false;
  ++m.polls;
  m.next = Clock::now() + std::chrono::milliseconds(std::min<uint32_t>(1000, 50u << std::min<uint32_t>(m.polls, 5)));
  tick_later(self);
}

/// Commits `b` with the current durable marks; `done(ok)` after.
void commit_marks(merger* self, NodeContext* ctx, Batch b, std::function<void(bool)> done) {
  b.meta.emplace_back(kMarksKey, durable_marks(self->state));
  self->request(ctx->store_actor, caf::infinite, batch_atom::value, std::move(b))
    .then([=](bool) { done(true); },
          [=](caf::error& err) {
            spdlog::error("[merge] writing the handoff marks failed: {}", self->system().render(err));
            done(false);
          });
}

/// A removal that did not commit: the mark is set again, and written again
/// (a write sent meanwhile left it out).
void keep_marked(merger* self, NodeContext* ctx, const std::string& id) {
  auto it = self->state.marks.find(id);
  if (it == self->state.marks.end()) return;
  it->second.phase = Mark::marked;
  backoff(self, it->second);
  commit_marks(self, ctx, {}, [](bool) {});
}

/// "yes": B's records go, its ids follow A, the mark goes, in one commit.
void finish(merger* self, NodeContext* ctx, const std::string& id) {
  auto& m = self->state.marks[id];
  m.phase = Mark::finishing;
  CustomerWrite w;
  w.customer = m.into;
  w.aliases_from.push_back(id);
  if (auto raw = ctx->store->get_customer(id)) {
    auto s = parse_state(*raw);
    if (!s) {  // checked before it was handed over; it has not changed since
      spdlog::error("[merge] {}: stored state unreadable at finish: {}", id, s.error().message);
      return keep_marked(self, ctx, id);
    }
    for (auto& merged : s->merged_ids) w.aliases_from.push_back(merged);
    w.erase_customers.push_back(id);
    for (auto& in : s->instances) {
      if (!in.timer_id.empty()) w.timers_cleared.push_back(TimerKey{in.timer_due, id, in.timer_id});
      if (!in.timeout_timer_id.empty()) w.timers_cleared.push_back(TimerKey{in.timeout_due, id, in.timeout_timer_id});
    }
  }
  Batch b;
  b.customers.push_back(std::move(w));
  auto into = m.into;
  commit_marks(self, ctx, std::move(b), [=](bool ok) {
    if (!ok) return keep_marked(self, ctx, id);
    drop(self, ctx, id);
    spdlog::info("[merge] {} merged into {} at its owner: erased here, its events follow the alias", id, into);
  });
}

/// "no": the merging customer did not take it; `id` is its own again.
void abort_mark(merger* self, NodeContext* ctx, const std::string& id) {
  self->state.marks[id].phase = Mark::aborting;
  commit_marks(self, ctx, {}, [=](bool ok) {
    if (!ok) return keep_marked(self, ctx, id);
    spdlog::info("[merge] handover of {} was not taken in by {}: it stays here", id, self->state.marks[id].into);
    drop(self, ctx, id);
  });
}

/// Asks the owner of the merging customer whether it took `id` in.
void ask(merger* self, NodeContext* ctx, const std::string& id) {
  auto& m = self->state.marks[id];
  auto owner = owner_of_key(*ctx, m.into);
  auto peer = self->state.peers.find(owner);
  if (peer == self->state.peers.end()) return backoff(self, m);  // down: ask when it is back
  m.asking = true;
  self->request(peer->second, ask_timeout, absorbed_atom::value, Handoff{id, m.into})
    .then(
      [=](const std::string& answer) {
        auto it = self->state.marks.find(id);
        if (it == self->state.marks.end() || it->second.phase != Mark::marked) return;
        it->second.asking = false;
        if (answer == "yes") return finish(self, ctx, id);
        if (answer == "no") return abort_mark(self, ctx, id);
        backoff(self, it->second);
      },
      [=](caf::error&) {
        auto it = self->state.marks.find(id);
        if (it != self->state.marks.end()) backoff(self, it->second);
      });
}

void tick(merger* self, NodeContext* ctx) {
  self->state.ticking = false;
  auto now = Clock::now();
  std::vector<std::string> due;
  for (auto& [id, m] : self->state.marks)
    if (m.phase == Mark::marked && !m.asking && m.next <= now) due.push_back(id);
  for (auto& id : due) ask(self, ctx, id);
  bool waiting = std::any_of(self->state.marks.begin(), self->state.marks.end(),
                             [](auto& kv) { return kv.second.phase == Mark::marked && !kv.second.asking; });
  if (waiting) tick_later(self);
}

/// At B's owner: mark B, make its stored state final, commit the mark, answer the state.
caf::result<std::string> hand_over(merger* self, NodeContext* ctx, const Handoff& h) {
  auto& st = self->state;
  if (auto it = st.marks.find(h.id); it != st.marks.end()) {
    // The same merge asked again (node 1 restarted, the client resent the
    // alias): the same final state. Another merge waits for this one.
    if (it->second.into == h.into && it->second.phase == Mark::marked)
      return ctx->store->get_customer(h.id).value_or(std::string());
    return retry_error("customer " + h.id + " is being merged into " + it->second.into);
  }
  if (ctx->store->resolve_alias(h.id)) return std::string();  // merged already: nothing here to hand over
  if (ctx->merges.waiting(h.id, h.into))  // each waits for the other: refused at once, not at a timeout
    return retry_error("alias cycle: " + h.into + " -> " + h.id + " -> " + h.into + " across members");
  st.marks[h.id] = Mark{Mark::preparing, h.into};
  ctx->handoffs.set(h.id, h.into);
  auto rp = self->make_response_promise<std::string>();
  auto fail = [=](const std::string& why) mutable {
    drop(self, ctx, h.id);
    rp.deliver(retry_error(why));
  };
  self->request(ctx->router.route_local(h.id), std::chrono::seconds(30), prepare_atom::value, h.id)
    .then(
      [=](const std::string&) mutable {
        auto raw = ctx->store->get_customer(h.id).value_or(std::string());
        if (!raw.empty() && !parse_state(raw)) {
          drop(self, ctx, h.id);
          rp.deliver(caf::make_error(caf::sec::invalid_argument, kStateUnreadable));
          return;
        }
        commit_marks(self, ctx, {}, [=](bool ok) mutable {
          if (!ok) return fail("storing the handoff mark of " + h.id + " failed");
          auto& m = self->state.marks[h.id];
          m.phase = Mark::marked;
          m.next = Clock::now() + tick_every;
          tick_later(self);
          spdlog::info("[merge] {} handed to {} (marked until its owner confirms)", h.id, h.into);
          rp.deliver(raw);
        });
      },
      [=](caf::error& err) mutable { fail("stopping customer " + h.id + " failed: " + self->system().render(err)); });
  return rp;
}

/// At A's owner: did `into` take `id` in? Decided after the store committed
/// what it held, so a merge whose commit was sent is counted.
caf::result<std::string> absorbed(merger* self, NodeContext* ctx, const Handoff& h) {
  if (ctx->merges.waiting(h.into, h.id)) return std::string("pending");
  auto rp = self->make_response_promise<std::string>();
  self->request(ctx->store_actor, caf::infinite, batch_atom::value, Batch{})
    .then(
      [=](bool) mutable {
        bool pending = ctx->merges.waiting(h.into, h.id);
        rp.deliver(std::string(pending ? "pending" : ctx->store->resolve_alias(h.id) ? "yes" : "no"));
      },
      [=](caf::error&) mutable { rp.deliver(std::string("pending")); });
  return rp;
}

/// At A's owner: asks B's owner for B's state on behalf of A's actor.
caf::result<std::string> fetch(merger* self, NodeContext* ctx, const std::string& id, const std::string& into) {
  auto owner = owner_of_key(*ctx, id);
  auto peer = self->state.peers.find(owner);
  if (peer == self->state.peers.end()) return retry_error("owner " + owner + " of customer " + id + " is down");
  auto rp = self->make_response_promise<std::string>();
  auto n = ++self->state.next_fetch;
  self->state.fetches.emplace(n, std::make_pair(owner, rp));
  auto answer = [=](auto&& x) {  // once: the peer's answer, its timeout, or its loss
    auto it = self->state.fetches.find(n);
    if (it == self->state.fetches.end()) return;
    it->second.second.deliver(std::forward<decltype(x)>(x));
    self->state.fetches.erase(it);
  };
  self->request(peer->second, handover_timeout, handover_atom::value, Handoff{id, into})
    .then([=](std::string& raw) { answer(std::move(raw)); }, [=](caf::error& err) { answer(std::move(err)); });
  return rp;
}

caf::behavior merger_actor(merger* self, NodeContext* ctx, std::map<std::string, std::string> loaded) {
  for (auto& [id, into] : loaded) {
    Mark m{Mark::marked, into};
    m.next = Clock::now();
    self->state.marks[id] = m;
  }
  tick_later(self);
  return {
    [=](handover_atom, const std::string& id, const std::string& into) { return fetch(self, ctx, id, into); },
    [=](handover_atom, const Handoff& h) { return hand_over(self, ctx, h); },
    [=](absorbed_atom, const Handoff& h) { return absorbed(self, ctx, h); },
    [=](tick_atom) { tick(self, ctx); },
    [=](peer_up_atom, const std::string& address, caf::actor link) {
      self->state.peers[address] = std::move(link);
      for (auto& [id, m] : self->state.marks)  // ask at once
        if (m.phase == Mark::marked && !m.asking) m.next = Clock::now();
      tick_later(self);
    },
    [=](peer_down_atom, const std::string& address) {
      auto& st = self->state;
      st.peers.erase(address);
      for (auto it = st.fetches.begin(); it != st.fetches.end();) {
        if (it->second.first != address) {
          ++it;
          continue;
        }
        it->second.second.deliver(retry_error("owner " + address + " went down during a merge"));
        it = st.fetches.erase(it);
      }
    },
    [=](shutdown_atom) { self->quit(); },
  };
}

}  // namespace

caf::actor spawn_merger(caf::actor_system& sys, NodeContext* ctx) {
  auto loaded = Handoffs::decode(ctx->store->meta(kMarksKey).value_or(std::string()));
  if (!loaded) {
    spdlog::error("[merge] stored handoff marks unreadable ({}); none are resumed", loaded.error().message);
    loaded = std::map<std::string, std::string>{};
  }
  for (auto& [id, into] : *loaded) {
    ctx->handoffs.set(id, into);
    spdlog::info("[merge] {} is marked as handed to {}: asking its owner whether the merge happened", id, into);
  }
  return sys.spawn(merger_actor, ctx, std::move(*loaded));
}

}  // namespace waymark
