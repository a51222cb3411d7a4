#include "actors/cluster_link.hpp"

#include <spdlog/spdlog.h>

#include <caf/io/all.hpp>
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "actors/cluster_forward.hpp"
#include "actors/cluster_merge.hpp"
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
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, dial_timeout, caf::connect_atom::value, hp->host, hp->port)
    .then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
        if (!ptr) return redial(self, *sh, address);
        say_hello(self, sh, address, caf::actor_cast<caf::actor>(std::move(ptr)));
      },
      [=](caf::error&) { redial(self, *sh, address); });
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
                      {"ready", !sh.ctx || sh.ctx->catalog_ready.load()},
                      {"membership_hash", sh.view.hash()},
                      {"partitions", sh.view.partitions()},
                      {"members", std::move(members)}};
}

caf::behavior cluster_link(cluster_actor* self, std::shared_ptr<Shared> sh) {
  for (auto& m : sh->view.members())
    if (m != sh->self) self->state.peers[m];
  for (auto& [address, p] : self->state.peers) {
    if (address < sh->self)
      self->send(self, dial_atom::value, address);
    else
      self->delayed_send(self, fallback_dial, dial_atom::value, address);
  }
  self->set_down_handler([=](caf::down_msg& dm) {
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
      redial(self, *sh, address);
    }
  });
  return {
    [=](dial_atom, const std::string& address) { dial(self, sh, address); },
    [=](ready_atom) { fetch_newest(self, sh); },
    [=](hello_atom, const Hello& theirs) -> caf::result<Hello> {
      auto why = refusal(*sh, theirs);
      if (!why.empty()) {
        log_refusal(self->state, why);
        return caf::make_error(caf::sec::invalid_argument, why);
      }
      auto link = caf::actor_cast<caf::actor>(self->current_sender());
      mark_up(self, *sh, theirs.address, link);
      catch_up(self, sh, theirs.address, link, theirs.generation);
      catch_up_clock(sh->ctx, theirs.clock);
      return sh->hello();
    },
    [=](caf::get_atom) { return json::serialize(status_json(*sh, self->state)); },
    // Admin requests: one of this node's to run at a peer, a peer's to run here.
    [=](http_atom, const std::string& address, HttpCall& call) { relay(self, *sh, address, std::move(call)); },
    [=](http_atom, HttpCall& call) { serve_call(sh->ctx, std::move(call)); },
    // Catalog generations: a peer asks for this node's; the leader's catalog
    // actor pushes a new one to every peer; a peer's push applied here.
    [=](catalog_atom, caf::get_atom) {
      auto cat = sh->ctx->catalog.get();
      return CatalogGen{cat->generation, catalog_blob(*cat)};
    },
    [=](push_atom, const CatalogGen& g) { return push(self, *sh, g); },
    [=](catalog_atom, CatalogGen& g) { return self->delegate(sh->ctx->catalog_actor, catalog_atom::value, std::move(g)); },
    // Merges across owners (actors/cluster_merge.hpp): a peer's merger asks this node's.
    [=](handover_atom, const Handoff& h) { return self->delegate(sh->ctx->merger, handover_atom::value, h); },
    [=](absorbed_atom, const Handoff& h) { return self->delegate(sh->ctx->merger, absorbed_atom::value, h); },
    // A peer forwards an event of a partition this node owns (its ack target
    // is the peer's forwarder, so the commit's ack goes straight back). An
    // event redirected by an alias is routed to its target's manager.
    [=](event_atom, std::vector<EventMsg>& batch) {
      for (auto& m : batch) {
        auto& mgr = sh->ctx->router.route_local(m.route.empty() ? m.event.customer_key() : m.route);
        self->send(mgr, event_atom::value, std::move(m));
      }
    },
  };
}

}  // namespace

caf::expected<caf::actor> start_cluster(caf::actor_system& sys, NodeContext* ctx) {
  auto hp = parse_host_port(ctx->config.cluster_listen);
  if (!ctx->view || !hp) return caf::make_error(caf::sec::invalid_argument, "bad cluster view");
  auto sh = std::make_shared<Shared>(Shared{ctx, *ctx->view, ctx->config.cluster_listen, {}});
  std::vector<caf::actor> remote(sh->view.partitions());
  for (auto& m : sh->view.members())
    if (m != sh->self) sh->forwarders[m] = spawn_forwarder(sys, ctx, m);
  for (uint32_t p = 0; p < sh->view.partitions(); ++p)
    if (sh->view.owner_of(p) != sh->self) remote[p] = sh->forwarders[sh->view.owner_of(p)];
  ctx->router.set_remote(std::move(remote));
  ctx->merger = spawn_merger(sys, ctx);  // before any peer or event can reach it
  auto actor = sys.spawn(cluster_link, sh);
  auto port = caf::io::publish(actor, hp->port, hp->host.c_str(), true);
  if (!port) {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    return port.error();
  }
  spdlog::info("[cluster] {} listening; view {} (hash {})", sh->self, sh->view.describe(), sh->view.hash());
  return actor;
}

std::string single_node_cluster_json(const NodeContext& ctx) {
  auto view = cluster::Membership::make({ctx.config.cluster_listen}, static_cast<uint32_t>(ctx.config.partitions));
  if (!view) return "{}";
  Shared sh{nullptr, std::move(*view), ctx.config.cluster_listen, {}};
  (void)sh.ctx;
  return json::serialize(status_json(sh, cluster_state{}));
}

}  // namespace waymark
