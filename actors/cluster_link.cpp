#include "actors/cluster_link.hpp"

#include <spdlog/spdlog.h>

#include <caf/io/all.hpp>
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "actors/cluster_auth.hpp"
#include "actors/cluster_forward.hpp"
#include "actors/cluster_handoff.hpp"
#include "actors/cluster_merge.hpp"
#include "actors/cluster_tls.hpp"
#include "actors/http_cluster.hpp"
#include "actors/messages.hpp"
#include "waymark/catalog.hpp"
#include "waymark/cluster.hpp"

namespace json = boost::json;

namespace waymark {
namespace {

constexpr auto dial_timeout = std::chrono::seconds(5);
constexpr auto hello_timeout = std::chrono::seconds(5);
// A member dials the members whose address sorts lower at once; one that
// should dial it but has not linked within this is dialled too (so a node
// that sorts lower than a peer with another member list still hears of the
// mismatch), late enough that two nodes rarely dial each other at once.
constexpr auto fallback_dial = std::chrono::seconds(3);

struct Peer {
  caf::actor link;        // the peer's cluster actor while up
  bool up = false;
  uint32_t attempts = 0;  // failed dials since the last success
};

struct cluster_state {
  std::map<std::string, Peer> peers;  // every other member, by address
  bool catching_up = false;           // a newer catalog generation is being fetched
  uint64_t newest = 0;                // the newest generation a peer reported
  caf::actor newest_from;             // ... and the link to that peer
  std::optional<uint64_t> leader_gen; // the leader's generation, once linked to it
  // Hand-off (actors/cluster_handoff.hpp): senders running, by peer; what each
  // peer last said it still holds of this node's partitions; all taken in.
  std::map<std::string, caf::actor> senders;
  std::map<std::string, std::set<uint32_t>> peer_holds;
  bool intake_done = true;
  // Refusals logged, by text, with when: a refused node redials every 2 s,
  // so the same refusal is logged again only after a minute.
  std::map<std::string, std::chrono::steady_clock::time_point> refusals_logged;
  static constexpr const char* name = "cluster";
};
using cluster_actor = caf::stateful_actor<cluster_state>;

struct Shared {
  NodeContext* ctx;
  cluster::Membership view;
  std::string self;  // this node's address
  std::map<std::string, caf::actor> forwarders;  // per peer (actors/cluster_forward.hpp)
  std::shared_ptr<LinkGuard> guard;  // cluster.secret proof, handshake bound (actors/cluster_auth.hpp)
  Hello hello() const {
    return Hello{self, view.hash(), view.describe(), ctx->catalog.get()->generation,
                 ctx->clock->manual() ? ctx->clock->now() : 0};
  }
};

std::string mismatch(const Shared& sh, const Hello& other) {
  return "cluster view of " + other.address + " (" + other.view + "; hash " + other.view_hash +
         ") differs from this node's (" + sh.self + ": " + sh.view.describe() + "; hash " + sh.view.hash() +
         "): refused";
}

/// Why `other` may not join, or "" when it may.
std::string refusal(const Shared& sh, const Hello& other) {
  if (other.view_hash != sh.view.hash()) return mismatch(sh, other);
  if (!sh.view.contains(other.address) || other.address == sh.self)
    return "cluster member " + other.address + " is not in this node's view (" + sh.view.describe() + "): refused";
  return "";
}

void log_refusal(cluster_state& st, const std::string& text) {
  auto now = std::chrono::steady_clock::now();
  auto it = st.refusals_logged.find(text);
  if (it != st.refusals_logged.end() && now - it->second < std::chrono::minutes(1)) return;
  if (st.refusals_logged.size() > 64) st.refusals_logged.clear();  // bounded whatever peers send
  st.refusals_logged[text] = now;
  spdlog::error("[cluster] {}", text);
}

/// The catalog generations peers reported (hello): this node fetches the
/// newest it heard of (deployed while it was down) and is ready for events once
/// it holds at least the leader's (PRODUCT.md §9: "a node that was down
/// applies what it missed before it accepts events").
void check_ready(cluster_actor* self, Shared& sh) {
  auto& st = self->state;
  if (st.leader_gen && sh.ctx->catalog.get()->generation >= *st.leader_gen && !sh.ctx->catalog_ready.exchange(true))
    spdlog::info("[cluster] catalog in step with the leader (generation {}): taking events",
                 sh.ctx->catalog.get()->generation);
}

void fetch_newest(cluster_actor* self, std::shared_ptr<Shared> sh) {
  auto& st = self->state;
  auto* ctx = sh->ctx;
  if (st.catching_up || st.newest <= ctx->catalog.get()->generation || !st.newest_from)
    return check_ready(self, *sh);
  st.catching_up = true;
  auto from = st.newest_from;
  auto retry_later = [=](const std::string& what, const caf::error& err) {
    self->state.catching_up = false;
    spdlog::warn("[cluster] {} failed: {}; trying again in 1 s", what, self->system().render(err));
    self->delayed_send(self, std::chrono::seconds(1), ready_atom::value);
  };
  self->request(from, std::chrono::seconds(30), catalog_atom::value, caf::get_atom::value)
    .then(
      [=](CatalogGen& g) {
        self->request(ctx->catalog_actor, std::chrono::seconds(60), catalog_atom::value, std::move(g))
          .then(
            [=](bool) {
              self->state.catching_up = false;
              spdlog::info("[cluster] took catalog generation {}", ctx->catalog.get()->generation);
              fetch_newest(self, sh);
            },
            [=](caf::error& err) { retry_later("applying a peer's catalog", err); });
      },
      [=](caf::error& err) { retry_later("fetching a peer's catalog", err); });
}

void catch_up(cluster_actor* self, std::shared_ptr<Shared> sh, const std::string& address, caf::actor link,
              uint64_t theirs) {
  auto& st = self->state;
  if (address == catalog_leader(*sh->ctx))
    st.leader_gen = std::max(st.leader_gen.value_or(0), theirs);
  if (theirs >= st.newest) {  // the latest link to a peer that has it (an older one may be gone)
    st.newest = theirs;
    st.newest_from = link;
  }
  fetch_newest(self, sh);
}

/// A peer's manual clock ahead of this node's (this node was down while the
/// cluster's clock moved): moves this node's clock to it.
void catch_up_clock(NodeContext* ctx, int64_t theirs) {
  if (ctx->clock->manual() && theirs > ctx->clock->now())
    caf::anon_send(ctx->timer_service, advance_atom::value, theirs);
}

void mark_up(cluster_actor* self, Shared& sh, const std::string& address, caf::actor link) {
  auto& p = self->state.peers[address];
  if (p.up && p.link == link) return;
  if (!p.up) sh.ctx->metrics.cluster_peers_up.fetch_add(1, std::memory_order_relaxed);
  p.link = std::move(link);
  p.up = true;
  p.attempts = 0;
  if (auto f = sh.forwarders.find(address); f != sh.forwarders.end())
    self->send(f->second, peer_up_atom::value, p.link);
  if (sh.ctx->merger) self->send(sh.ctx->merger, peer_up_atom::value, address, p.link);
  self->monitor(p.link);
  link_finished(self, sh.guard, p.link.node());
  spdlog::info("[cluster] {} is up", address);
}

/// Dials `address` again later: with backoff (at most 2 s) when this node is
/// its dialler, else after the fallback delay.
void redial(cluster_actor* self, const Shared& sh, const std::string& address) {
  auto& p = self->state.peers[address];
  ++p.attempts;
  auto delay = std::chrono::milliseconds(std::min<uint32_t>(2000, 100 * p.attempts));
  if (address > sh.self)
    delay = std::chrono::duration_cast<std::chrono::milliseconds>(fallback_dial);
  self->delayed_send(self, delay, dial_atom::value, address);
}

void start_sender(cluster_actor* self, const Shared& sh, const std::string& address);
void ask_holds(cluster_actor* self, std::shared_ptr<Shared> sh, const std::string& address);

void say_hello(cluster_actor* self, std::shared_ptr<Shared> sh, const std::string& address, caf::actor remote) {
  self->request(remote, hello_timeout, hello_atom::value, sh->hello())
    .then(
      [=](const Hello& theirs) {
        auto why = refusal(*sh, theirs);
        if (!why.empty()) {
          log_refusal(self->state, why);
          return redial(self, *sh, address);
        }
        mark_up(self, *sh, address, remote);
        catch_up(self, sh, address, remote, theirs.generation);
        start_sender(self, *sh, address);
        ask_holds(self, sh, address);
        catch_up_clock(sh->ctx, theirs.clock);
      },
      [=](caf::error& err) {
        log_refusal(self->state, address + " refused this node: " + self->system().render(err));
        redial(self, *sh, address);
      });
}

void dial(cluster_actor* self, std::shared_ptr<Shared> sh, const std::string& address) {
  auto hp = parse_host_port(address);
  if (!hp || self->state.peers[address].up) return;
  self->request(sh->guard->middleman(), dial_timeout, caf::connect_atom::value, hp->host, hp->port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        if (!ptr) return redial(self, *sh, address);
        auto remote = caf::actor_cast<caf::actor>(std::move(ptr));
        prove_link(self, sh->guard, address, remote, [=](const std::string& why) {
          if (!why.empty()) {
            log_refusal(self->state, address + " refused this node, or failed its proof of cluster.secret: " + why);
            return redial(self, *sh, address);
          }
          say_hello(self, sh, address, remote);
        });
      },
      [=](caf::error&) { redial(self, *sh, address); });
}

json::object handoff_json(const Shared& sh, const cluster_state& st) {
  json::array receiving, sending;
  if (sh.ctx) {
    for (uint32_t p = 0; p < sh.view.partitions(); ++p)
      if (sh.ctx->ownership.owns(p) && !sh.ctx->ownership.ready(p))
        receiving.push_back(p);
    std::lock_guard<std::mutex> g(sh.ctx->held_mu);
    for (auto p : sh.ctx->held_foreign)
      sending.push_back(p);
  }
  (void)st;
  return json::object{{"receiving", std::move(receiving)}, {"sending", std::move(sending)}};
}

/// Asks a local actor on a peer's behalf and answers the peer with its reply.
template <class... Ts>
caf::result<bool> ask_bool(cluster_actor* self, const caf::actor& dest, Ts&&... xs) {
  auto rp = self->make_response_promise<bool>();
  self->request(dest, std::chrono::seconds(60), std::forward<Ts>(xs)...)
    .then([=](bool ok) mutable { rp.deliver(ok); }, [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// The same for a text reply.
template <class... Ts>
caf::result<std::string> ask_text(cluster_actor* self, const caf::actor& dest, Ts&&... xs) {
  auto rp = self->make_response_promise<std::string>();
  self->request(dest, std::chrono::seconds(60), std::forward<Ts>(xs)...)
    .then([=](std::string& text) mutable { rp.deliver(std::move(text)); },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// Sends one of this node's admin requests to a peer, or answers it "down".
void relay(cluster_actor* self, const Shared& sh, const std::string& address, HttpCall call) {
  auto it = self->state.peers.find(address);
  if (it != self->state.peers.end() && it->second.up) {
    self->send(it->second.link, http_atom::value, std::move(call));
    return;
  }
  auto body = json::serialize(json::object{{"error", "cluster member " + address + " is down; retry"}});
  self->send(call.reply_to, http_atom::value, HttpReply{call.id, 503, "application/json", body});
  (void)sh;
}

/// Sends a new catalog generation to every peer that is up; answers, once each
/// applied it or failed, the peers that did not take it ("" = all did). A
/// peer that is down takes it when it returns (catch_up).
caf::result<std::string> push(cluster_actor* self, const Shared& sh, const CatalogGen& g) {
  struct Wait {
    size_t pending = 0;
    std::string missed;
  };
  auto rp = self->make_response_promise<std::string>();
  auto w = std::make_shared<Wait>();
  for (auto& [address, p] : self->state.peers) {
    if (!p.up) {
      w->missed += (w->missed.empty() ? "" : ", ") + address + " (down)";
      continue;
    }
    ++w->pending;
    auto done = [=](const std::string& failure) mutable {
      if (!failure.empty()) w->missed += (w->missed.empty() ? "" : ", ") + failure;
      if (--w->pending == 0) rp.deliver(w->missed);
    };
    auto addr = address;
    self->request(p.link, std::chrono::milliseconds(sh.ctx->config.forward_timeout_ms * 5), catalog_atom::value, g)
      .then([=](bool) mutable { done(""); },
            [=](caf::error& err) mutable { done(addr + " (" + self->system().render(err) + ")"); });
  }
  if (w->pending == 0) rp.deliver(w->missed);
  return rp;
}

/// Hands this node's records of `address`'s partitions to it (once per start,
/// again after a failure).
void start_sender(cluster_actor* self, const Shared& sh, const std::string& address) {
  auto& st = self->state;
  auto it = st.peers.find(address);
  if (it == st.peers.end() || !it->second.up || st.senders.count(address))
    return;
  auto parts = held_for(sh.ctx, address);
  if (parts.empty())
    return;
  st.senders[address] = spawn_handoff_sender(self->system(), sh.ctx, address, it->second.link, std::move(parts),
                                             caf::actor_cast<caf::actor>(self));
}

/// Partitions of this node no other member holds anything of any more become
/// ready; when all are, the view's hash is stored (a restart skips the wait).
void evaluate_intake(cluster_actor* self, const Shared& sh) {
  auto& st = self->state;
  if (st.intake_done)
    return;
  auto* ctx = sh.ctx;
  bool all = true;
  for (uint32_t p = 0; p < sh.view.partitions(); ++p) {
    if (!ctx->ownership.owns(p) || ctx->ownership.ready(p))
      continue;
    bool clear = st.peer_holds.size() == st.peers.size();
    for (auto& [peer, holds] : st.peer_holds)
      clear = clear && !holds.count(p);
    if (clear)
      ctx->ownership.set_ready(p);
    all = all && clear;
  }
  if (!all)
    return;
  st.intake_done = true;
  Batch b;
  b.meta.emplace_back("intake_view", sh.view.hash());
  self->request(ctx->store_actor, std::chrono::seconds(30), batch_atom::value, std::move(b))
    .then([=](bool) { spdlog::info("[cluster] every partition of this node taken in; view {} stored", sh.view.hash()); },
          [=](caf::error& err) { spdlog::warn("[cluster] storing intake_view failed: {}", self->system().render(err)); });
}

/// Asks `address` which of this node's partitions it still holds.
void ask_holds(cluster_actor* self, std::shared_ptr<Shared> sh, const std::string& address) {
  auto it = self->state.peers.find(address);
  if (self->state.intake_done || it == self->state.peers.end() || !it->second.up)
    return;
  self->request(it->second.link, std::chrono::seconds(5), handoff_atom::value, caf::get_atom::value, sh->self)
    .then(
      [=](const std::string& holds) {
        auto ps = parse_partitions(holds);
        self->state.peer_holds[address] = std::set<uint32_t>(ps.begin(), ps.end());
        evaluate_intake(self, *sh);
      },
      [=](caf::error&) {});
}

json::value status_json(const Shared& sh, const cluster_state& st) {
  json::array members;
  for (auto& m : sh.view.members()) {
    json::array parts;
    for (auto p : sh.view.partitions_of(m)) parts.push_back(p);
    auto it = st.peers.find(m);
    bool up = m == sh.self || (it != st.peers.end() && it->second.up);
    members.push_back(json::object{{"address", m}, {"up", up}, {"partitions", std::move(parts)}});
  }
  return json::object{{"this", sh.self},
                      {"ready", !sh.ctx || (sh.ctx->catalog_ready.load() && st.intake_done)},
                      {"handoff", handoff_json(sh, st)},
                      {"membership_hash", sh.view.hash()},
                      {"partitions", sh.view.partitions()},
                      {"members", std::move(members)}};
}

caf::behavior cluster_link(cluster_actor* self, std::shared_ptr<Shared> sh) {
  for (auto& m : sh->view.members())
    if (m != sh->self) self->state.peers[m];
  for (uint32_t p = 0; p < sh->view.partitions(); ++p)
    if (!sh->ctx->ownership.ready(p)) self->state.intake_done = false;
  if (!self->state.intake_done)
    self->send(self, handoff_atom::value, tick_atom::value);
  for (auto& [address, p] : self->state.peers) {
    if (address < sh->self)
      self->send(self, dial_atom::value, address);
    else
      self->delayed_send(self, fallback_dial, dial_atom::value, address);
  }
  start_link_sweep(self, *sh->guard);
  self->set_down_handler([=](caf::down_msg& dm) {
    forget_node(self, *sh->guard, dm.source.node());
    for (auto& [address, p] : self->state.peers) {
      if (!p.link || p.link.address() != dm.source) continue;
      spdlog::warn("[cluster] {} is down ({})", address, self->system().render(dm.reason));
      if (p.up) sh->ctx->metrics.cluster_peers_up.fetch_sub(1, std::memory_order_relaxed);
      if (auto f = sh->forwarders.find(address); f != sh->forwarders.end())
        self->send(f->second, peer_down_atom::value);
      if (sh->ctx->merger) self->send(sh->ctx->merger, peer_down_atom::value, address);
      p.up = false;
      p.link = nullptr;
      p.attempts = 0;
      if (auto sender = self->state.senders.find(address); sender != self->state.senders.end()) {
        self->send_exit(sender->second, caf::exit_reason::user_shutdown);  // it sends again to the next link
        self->state.senders.erase(sender);
      }
      redial(self, *sh, address);
    }
  });
  caf::message_handler links{
    [=](dial_atom, const std::string& address) { dial(self, sh, address); },
    [=](ready_atom) { fetch_newest(self, sh); },
    // Hand-off: a peer asks what this node holds of its partitions; a peer's
    // records arrive; a sender of this node's ends; the intake poll.
    [=](handoff_atom, caf::get_atom, const std::string& asker) -> caf::result<std::string> {
      if (!admit_current(self, sh->guard, "a hand-off question"))
        return caf::make_error(caf::sec::invalid_argument, "not proven");
      return partitions_text(held_for(sh->ctx, asker));
    },
    [=](handoff_atom, HandoffChunk& chunk) -> caf::result<bool> {
      if (!admit_current(self, sh->guard, "hand-off records"))
        return caf::make_error(caf::sec::invalid_argument, "not proven");
      return ask_bool(self, sh->ctx->store_actor, handoff_atom::value, std::move(chunk));
    },
    [=](handoff_atom, const std::string& peer, bool ok) {
      auto it = self->state.senders.find(peer);
      if (it == self->state.senders.end() || it->second.address() != self->current_sender())
        return;  // a sender stopped when its peer went down (a newer one may run)
      self->state.senders.erase(it);
      if (!ok)
        self->delayed_send(self, std::chrono::seconds(1), handoff_atom::value, peer);
    },
    [=](handoff_atom, const std::string& peer) { start_sender(self, *sh, peer); },
    [=](handoff_atom, tick_atom) {
      if (self->state.intake_done)
        return;
      for (auto& [address, p] : self->state.peers)
        ask_holds(self, sh, address);
      self->delayed_send(self, std::chrono::milliseconds(300), handoff_atom::value, tick_atom::value);
    },
    [=](hello_atom, const Hello& theirs) -> caf::result<Hello> {
      if (!admit_current(self, sh->guard, "hello"))
        return caf::make_error(caf::sec::invalid_argument, "not proven: " + sh->self + " requires cluster.secret");
      auto why = refusal(*sh, theirs);
      if (why.empty() && sh->guard->enabled() &&
          sh->guard->proven_address(self->current_sender()->node()) != theirs.address)
        why = "cluster member " + theirs.address + " says hello on a link proven for " +
              sh->guard->proven_address(self->current_sender()->node()) + ": refused";
      if (!why.empty()) {
        log_refusal(self->state, why);
        return caf::make_error(caf::sec::invalid_argument, why);
      }
      auto link = caf::actor_cast<caf::actor>(self->current_sender());
      mark_up(self, *sh, theirs.address, link);
      catch_up(self, sh, theirs.address, link, theirs.generation);
      start_sender(self, *sh, theirs.address);
      ask_holds(self, sh, theirs.address);
      catch_up_clock(sh->ctx, theirs.clock);
      return sh->hello();
    },
    [=](caf::get_atom) -> caf::result<std::string> {
      if (!admit_current(self, sh->guard, "a status request"))
        return caf::make_error(caf::sec::invalid_argument, "not proven");
      return json::serialize(status_json(*sh, self->state));
    },
    // Admin requests: one of this node's to run at a peer, a peer's to run here.
    [=](http_atom, const std::string& address, HttpCall& call) { relay(self, *sh, address, std::move(call)); },
    [=](http_atom, HttpCall& call) {
      if (admit_current(self, sh->guard, "an admin request"))
        serve_call(sh->ctx, std::move(call));
    },
    // Catalog generations: a peer asks for this node's; the leader's catalog
    // actor pushes a new one to every peer; a peer's push applied here.
    [=](catalog_atom, caf::get_atom) -> caf::result<CatalogGen> {
      if (!admit_current(self, sh->guard, "a catalog request"))
        return caf::make_error(caf::sec::invalid_argument, "not proven");
      auto cat = sh->ctx->catalog.get();
      return CatalogGen{cat->generation, catalog_blob(*cat)};
    },
    [=](push_atom, const CatalogGen& g) { return push(self, *sh, g); },
    [=](catalog_atom, CatalogGen& g) -> caf::result<bool> {
      if (!admit_current(self, sh->guard, "a catalog generation"))
        return caf::make_error(caf::sec::invalid_argument, "not proven");
      return ask_bool(self, sh->ctx->catalog_actor, catalog_atom::value, std::move(g));
    },
    // Merges across owners (actors/cluster_merge.hpp): a peer's merger asks this node's.
    [=](handover_atom, const Handoff& h) -> caf::result<std::string> {
      if (!admit_current(self, sh->guard, "a merge handover"))
        return caf::make_error(caf::sec::invalid_argument, "not proven");
      return ask_text(self, sh->ctx->merger, handover_atom::value, h);
    },
    [=](absorbed_atom, const Handoff& h) -> caf::result<std::string> {
      if (!admit_current(self, sh->guard, "a merge question"))
        return caf::make_error(caf::sec::invalid_argument, "not proven");
      return ask_text(self, sh->ctx->merger, absorbed_atom::value, h);
    },
    // A peer forwards an event of a partition this node owns (its ack target
    // is the peer's forwarder, so the commit's ack goes straight back). An
    // event redirected by an alias is routed to its target's manager.
    [=](event_atom, std::vector<EventMsg>& batch) {
      if (!admit_current(self, sh->guard, "events"))
        return;
      // The owner's acks go back through a local relay, so that they carry a
      // sender on this node (the forwarder takes acks from its owner only).
      for (auto& m : batch) {
        if (m.ack.origin)
          m.ack.origin = ack_relay(self, *sh->guard, m.ack.origin);
        auto& mgr = sh->ctx->router.route_local(m.route.empty() ? m.event.customer_key() : m.route);
        self->send(mgr, event_atom::value, std::move(m));
      }
    },
  };
  return links.or_else(link_guard_handlers(self, sh->guard));
}

}  // namespace

caf::expected<caf::actor> start_cluster(caf::actor_system& sys, NodeContext* ctx) {
  auto hp = parse_host_port(ctx->config.cluster_listen);
  if (!ctx->view || !hp) return caf::make_error(caf::sec::invalid_argument, "bad cluster view");
  bool tls = cluster_tls_enabled(ctx->config);
  auto guard = std::make_shared<LinkGuard>(ctx->config.cluster_listen, ctx->config.cluster_secret,
                                           std::chrono::milliseconds(ctx->config.handshake_timeout_ms), hp->port,
                                           cluster_middleman(sys, tls));
  auto sh = std::make_shared<Shared>(Shared{ctx, *ctx->view, ctx->config.cluster_listen, {}, guard});
  std::vector<uint16_t> peer_ports;
  for (auto& m : sh->view.members())
    if (auto php = parse_host_port(m); php && m != sh->self) peer_ports.push_back(php->port);
  tls_hooks::set_ports(hp->port, std::move(peer_ports));
  std::vector<caf::actor> remote(sh->view.partitions());
  for (auto& m : sh->view.members())
    if (m != sh->self) sh->forwarders[m] = spawn_forwarder(sys, ctx, m);
  for (uint32_t p = 0; p < sh->view.partitions(); ++p)
    if (sh->view.owner_of(p) != sh->self) remote[p] = sh->forwarders[sh->view.owner_of(p)];
  ctx->router.set_remote(std::move(remote));
  ctx->merger = spawn_merger(sys, ctx);  // before any peer or event can reach it
  auto actor = sys.spawn(cluster_link, sh);
  auto port = publish_cluster(actor, hp->port, hp->host, tls);
  if (!port) {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    return port.error();
  }
  spdlog::info("[cluster] {} listening{}; view {} (hash {})", sh->self,
               tls ? " (TLS, peers verified against cluster.tls.ca)" : "", sh->view.describe(), sh->view.hash());
  return actor;
}

std::string single_node_cluster_json(const NodeContext& ctx) {
  auto view = cluster::Membership::make({ctx.config.cluster_listen}, static_cast<uint32_t>(ctx.config.partitions));
  if (!view) return "{}";
  Shared sh{nullptr, std::move(*view), ctx.config.cluster_listen, {}, nullptr};
  return json::serialize(status_json(sh, cluster_state{}));
}

}  // namespace waymark
