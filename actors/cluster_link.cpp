#include "actors/cluster_link.hpp"

#include <spdlog/spdlog.h>

#include <caf/io/all.hpp>
#include <algorithm>
#include <chrono>
#include <map>

#include "actors/cluster_auth.hpp"
#include "actors/cluster_forward.hpp"
#include "actors/cluster_tls.hpp"
#include "actors/messages.hpp"
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
  Hello hello() const { return Hello{self, view.hash(), view.describe()}; }
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

void mark_up(cluster_actor* self, Shared& sh, const std::string& address, caf::actor link) {
  auto& p = self->state.peers[address];
  if (p.up && p.link == link) return;
  if (!p.up) sh.ctx->metrics.cluster_peers_up.fetch_add(1, std::memory_order_relaxed);
  p.link = std::move(link);
  p.up = true;
  p.attempts = 0;
  if (auto f = sh.forwarders.find(address); f != sh.forwarders.end())
    self->send(f->second, peer_up_atom::value, p.link);
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
  start_link_sweep(self, *sh->guard);
  self->set_down_handler([=](caf::down_msg& dm) {
    forget_node(self, *sh->guard, dm.source.node());
    for (auto& [address, p] : self->state.peers) {
      if (!p.link || p.link.address() != dm.source) continue;
      spdlog::warn("[cluster] {} is down ({})", address, self->system().render(dm.reason));
      if (p.up) sh->ctx->metrics.cluster_peers_up.fetch_sub(1, std::memory_order_relaxed);
      if (auto f = sh->forwarders.find(address); f != sh->forwarders.end())
        self->send(f->second, peer_down_atom::value);
      p.up = false;
      p.link = nullptr;
      p.attempts = 0;
      redial(self, *sh, address);
    }
  });
  caf::message_handler links{
    [=](dial_atom, const std::string& address) { dial(self, sh, address); },
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
      mark_up(self, *sh, theirs.address, caf::actor_cast<caf::actor>(self->current_sender()));
      return sh->hello();
    },
    [=](caf::get_atom) -> caf::result<std::string> {
      if (!admit_current(self, sh->guard, "a status request"))
        return caf::make_error(caf::sec::invalid_argument, "not proven");
      return json::serialize(status_json(*sh, self->state));
    },
    // A peer forwards an event of a partition this node owns (its ack target
    // is the peer's forwarder, so the commit's ack goes straight back).
    [=](event_atom, std::vector<EventMsg>& batch) {
      if (!admit_current(self, sh->guard, "events"))
        return;
      // The owner's acks go back through a local relay, so that they carry a
      // sender on this node (the forwarder takes acks from its owner only).
      for (auto& m : batch) {
        if (m.ack.origin)
          m.ack.origin = ack_relay(self, *sh->guard, m.ack.origin);
        auto& mgr = sh->ctx->router.route_local(m.event.customer_key());
        self->send(mgr, event_atom::value, std::move(m));
      }
    },
  };
  return links.or_else(link_guard_handlers(self, sh->guard));
}

}  // namespace

caf::expected<caf::actor> start_cluster(caf::actor_system& sys, NodeContext* ctx) {
  auto members = ctx->config.cluster_peers;
  members.push_back(ctx->config.cluster_listen);
  auto view = cluster::Membership::make(members, static_cast<uint32_t>(ctx->config.partitions));
  auto hp = parse_host_port(ctx->config.cluster_listen);
  if (!view || !hp) return caf::make_error(caf::sec::invalid_argument, "bad cluster view");
  bool tls = cluster_tls_enabled(ctx->config);
  auto guard = std::make_shared<LinkGuard>(ctx->config.cluster_listen, ctx->config.cluster_secret,
                                           std::chrono::milliseconds(ctx->config.handshake_timeout_ms), hp->port,
                                           cluster_middleman(sys, tls));
  auto sh = std::make_shared<Shared>(Shared{ctx, std::move(*view), ctx->config.cluster_listen, {}, guard});
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
