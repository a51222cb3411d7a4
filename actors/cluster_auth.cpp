#include "actors/cluster_auth.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>

namespace waymark {
namespace {

std::mutex refusals_mu;
std::map<std::string, uint64_t>& refusals() {
  static std::map<std::string, uint64_t> m;
  return m;
}

constexpr auto kLookupTimeout = std::chrono::seconds(2);

/// "ip:port" as connections_on_port spells it.
std::string endpoint(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string host_of(const std::string& peer) { return peer.substr(0, peer.rfind(':')); }

/// Calls `f` with the address ("ip:port") of the connection to `node`, or
/// "an unknown address" when there is none (any more).
void with_peer_address(caf::event_based_actor* self, const LinkGuard& g, const caf::node_id& node,
                       std::function<void(const std::string&)> f) {
  if (node == caf::node_id{})
    return f("an anonymous sender");
  self->request(g.middleman(), kLookupTimeout, caf::get_atom::value, node)
    .then([=](const caf::node_id&, const std::string& host,
              uint16_t port) { f(host.empty() ? "an unknown address" : endpoint(host, port)); },
          [=](caf::error&) { f("an unknown address"); });
}

/// Counts and logs (rate-limited) a refusal of a message or link of `node`.
void refuse(caf::event_based_actor* self, std::shared_ptr<LinkGuard> g, const caf::node_id& node,
            const std::string& reason, const std::string& text) {
  count_cluster_refusal(reason);
  with_peer_address(self, *g, node, [=](const std::string& peer) {
    g->log_limited(reason + " " + host_of(peer) + " " + text, "[cluster] link from " + peer + " refused (" + reason +
                                                              "): " + text);
  });
}

void sweep(caf::event_based_actor* self, std::shared_ptr<LinkGuard> g) {
  auto now = std::chrono::steady_clock::now();
  for (auto& c : g->clock().overdue(now, cluster::connections_on_port(g->listen_port()))) {
    const char* reason = c.crowded ? "handshake_slots" : "handshake_timeout";
    count_cluster_refusal(reason);
    auto why = c.crowded ? std::string("more than 16 connections were waiting in the link handshake (TLS, proof of "
                                       "cluster.secret, hello); the oldest go first")
                         : "it did not finish the link handshake (TLS, proof of cluster.secret, hello) within " +
                             std::to_string(g->timeout().count()) + " ms";
    g->log_limited(std::string(reason) + " " + host_of(c.peer),
                   "[cluster] link from " + c.peer + " refused (" + reason + "): " + why + "; connection dropped");
    // CAF owns the socket: shutting it down (not closing it) makes its next
    // read see the end, and CAF closes the connection itself.
    ::shutdown(c.fd, SHUT_RDWR);
  }
}

std::chrono::milliseconds sweep_period(const LinkGuard& g) {
  return std::clamp(g.timeout() / 4, std::chrono::milliseconds(25), std::chrono::milliseconds(250));
}

caf::behavior relay_actor(caf::event_based_actor* self, caf::actor target) {
  return {
    [=](acked_atom, AckBatch& a) { self->send(target, acked_atom::value, std::move(a)); },
    [=](nacked_atom, NackBatch& n) { self->send(target, nacked_atom::value, std::move(n)); },
  };
}

}  // namespace

void count_cluster_refusal(const std::string& reason) {
  std::lock_guard<std::mutex> lock(refusals_mu);
  ++refusals()[reason];
}

std::map<std::string, uint64_t> cluster_refusals() {
  std::lock_guard<std::mutex> lock(refusals_mu);
  return refusals();
}

LinkGuard::LinkGuard(std::string self_address, std::string secret, std::chrono::milliseconds handshake_timeout,
                     uint16_t listen_port, caf::io::middleman_actor mm)
    : self_(std::move(self_address)),
      secret_(std::move(secret)),
      timeout_(handshake_timeout),
      listen_port_(listen_port),
      mm_(std::move(mm)),
      clock_(handshake_timeout) {}

bool LinkGuard::admits(const caf::strong_actor_ptr& sender, const caf::node_id& local) const {
  if (!enabled())
    return true;
  if (!sender)
    return false;
  return sender->node() == local || proven_.count(sender->node()) > 0;
}

std::string LinkGuard::proven_address(const caf::node_id& node) const {
  auto it = proven_.find(node);
  return it == proven_.end() ? "" : it->second;
}

void LinkGuard::forget(const caf::node_id& node) {
  proven_.erase(node);
  pending_.erase(node);
}

LinkAuth LinkGuard::challenge(const caf::node_id& from, const std::string& address) {
  auto now = std::chrono::steady_clock::now();
  for (auto it = pending_.begin(); it != pending_.end();)  // bounded whatever dials in
    it = it->second.deadline < now ? pending_.erase(it) : std::next(it);
  if (pending_.size() >= 256)
    pending_.erase(pending_.begin());
  auto nonce = cluster::random_bytes(cluster::kNonceBytes);
  pending_[from] = Pending{address, nonce, now + timeout_};
  return LinkAuth{self_, nonce, ""};
}

std::variant<LinkAuth, LinkGuard::Refusal> LinkGuard::verify(const caf::node_id& from, const LinkAuth& proof) {
  auto it = pending_.find(from);
  if (it == pending_.end() || it->second.deadline < std::chrono::steady_clock::now() || it->second.nonce.empty())
    return Refusal{"no_challenge", "a proof of cluster.secret from " + proof.address +
                                     " without a nonce of this node (or after the handshake bound)"};
  auto p = it->second;
  pending_.erase(it);
  if (proof.address != p.address)
    return Refusal{"bad_proof", "the proof names " + proof.address + ", the request named " + p.address};
  auto expected = cluster::link_proof(secret_, cluster::LinkRole::dialer, p.nonce, p.address, self_);
  if (!cluster::proof_matches(expected, proof.proof))
    return Refusal{"bad_proof", "wrong cluster.secret: the proof of " + p.address + " does not verify"};
  if (proof.nonce.size() != cluster::kNonceBytes)
    return Refusal{"bad_proof", p.address + " sent no nonce of 32 bytes to answer"};
  proven_[from] = p.address;
  return LinkAuth{self_, "", cluster::link_proof(secret_, cluster::LinkRole::listener, proof.nonce, self_, p.address)};
}

void LinkGuard::log_limited(const std::string& key, const std::string& text) {
  auto now = std::chrono::steady_clock::now();
  auto it = logged_.find(key);
  if (it != logged_.end() && now - it->second < std::chrono::seconds(30))
    return;
  if (logged_.size() > 128)
    logged_.clear();  // bounded whatever peers send
  logged_[key] = now;
  spdlog::warn("{}", text);
}

void prove_link(caf::event_based_actor* self, std::shared_ptr<LinkGuard> g, const std::string& address,
                caf::actor remote, std::function<void(const std::string&)> done) {
  if (!g->enabled())
    return done("");
  auto fail = [=](caf::error& err) { done(self->system().render(err)); };
  self->request(remote, g->timeout(), auth_atom::value, LinkAuth{g->self_address(), "", ""})
    .then(
      [=](const LinkAuth& challenge) {
        auto mine = cluster::random_bytes(cluster::kNonceBytes);
        if (challenge.nonce.size() != cluster::kNonceBytes || mine.empty())
          return done("no nonce of 32 bytes from " + address);
        auto proof = g->dialer_proof(challenge.nonce, address);
        self->request(remote, g->timeout(), prove_atom::value, LinkAuth{g->self_address(), mine, proof})
          .then(
            [=](const LinkAuth& answer) {
              if (!g->listener_answer_ok(mine, address, answer.proof)) {
                refuse(self, g, remote.node(), "bad_proof",
                       "wrong cluster.secret: the answer of " + address + " does not verify");
                return done("wrong cluster.secret: the answer of " + address + " does not verify");
              }
              g->proven(remote.node(), address);
              done("");
            },
            fail);
      },
      fail);
}

caf::message_handler link_guard_handlers(caf::event_based_actor* self, std::shared_ptr<LinkGuard> g) {
  return {
    [=](auth_atom, const LinkAuth& req) -> caf::result<LinkAuth> {
      auto sender = self->current_sender();
      if (!g->enabled())
        return caf::make_error(caf::sec::invalid_argument, g->self_address() + " has no cluster.secret");
      if (!sender || sender->node() == self->node())
        return caf::make_error(caf::sec::invalid_argument, "no remote sender");
      return g->challenge(sender->node(), req.address);
    },
    [=](prove_atom, const LinkAuth& proof) -> caf::result<LinkAuth> {
      auto sender = self->current_sender();
      if (!g->enabled() || !sender)
        return caf::make_error(caf::sec::invalid_argument, "no proof expected");
      auto res = g->verify(sender->node(), proof);
      if (auto* r = std::get_if<LinkGuard::Refusal>(&res)) {
        refuse(self, g, sender->node(), r->reason, r->text + " (claims " + proof.address + ")");
        return caf::make_error(caf::sec::invalid_argument, r->text);
      }
      // Its proof is forgotten when that node goes (forget_node on the down_msg).
      self->monitor(caf::actor_cast<caf::actor>(sender));
      return std::get<LinkAuth>(std::move(res));
    },
    [=](sweep_links_atom) {
      sweep(self, g);
      self->delayed_send(self, sweep_period(*g), sweep_links_atom::value);
    },
  };
}

void start_link_sweep(caf::event_based_actor* self, const LinkGuard& g) {
  self->delayed_send(self, sweep_period(g), sweep_links_atom::value);
}

bool admit_current(caf::event_based_actor* self, std::shared_ptr<LinkGuard> g, const char* what) {
  auto sender = self->current_sender();
  if (g->admits(sender, self->node()))
    return true;
  refuse(self, g, sender ? sender->node() : caf::node_id{}, "unproven",
         std::string(what) + " ignored: that node has not proven cluster.secret");
  return false;
}

void link_finished(caf::event_based_actor* self, std::shared_ptr<LinkGuard> g, const caf::node_id& node) {
  if (node == self->node())
    return;
  self->request(g->middleman(), kLookupTimeout, caf::get_atom::value, node)
    .then(
      [=](const caf::node_id&, const std::string& host, uint16_t port) {
        if (!host.empty())
          g->clock().finished(endpoint(host, port));
      },
      [=](caf::error&) {});
}

caf::actor ack_relay(caf::event_based_actor* self, LinkGuard& g, const caf::actor& fwd) {
  auto& r = g.relays()[fwd.address()];
  if (!r)
    r = self->spawn<caf::linked>(relay_actor, fwd);
  return r;
}

void forget_node(caf::event_based_actor* self, LinkGuard& g, const caf::node_id& node) {
  g.forget(node);
  for (auto it = g.relays().begin(); it != g.relays().end();) {
    if (it->first.node() != node) {
      ++it;
      continue;
    }
    self->unlink_from(it->second);
    caf::anon_send_exit(it->second, caf::exit_reason::user_shutdown);
    it = g.relays().erase(it);
  }
}

}  // namespace waymark
