// Cluster link security, the CAF shell (PRODUCT.md §9 "Security"; the pure
// parts are in include/waymark/cluster_auth.hpp).
//
// With cluster.secret set, every link proves it before any other message of
// it is accepted: the dialer asks the listener's cluster actor for a nonce
// (auth_atom), answers it and sends its own (prove_atom), and checks the
// listener's answer; until a node has proven the secret, its hello, events and
// acks are ignored, counted in waymark_cluster_refused_total{reason} and
// logged (rate-limited) with the peer's address. A peer's acks reach a
// forwarder only through an ack relay on the owner (so they carry a sender on
// the owner's node, which the forwarder checks). Whatever the secret, an
// accepted connection on the cluster port whose link has not finished (proof
// and hello) within cluster.handshake_timeout_ms is shut down.
//
// Without a secret (loopback preview) there is no proof: links work as before,
// and finishing means the hello was accepted.
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>

#include "actors/messages.hpp"
#include "waymark/cluster_auth.hpp"

namespace waymark {

/// Counts one refusal (a label of waymark_cluster_refused_total).
void count_cluster_refusal(const std::string& reason);
/// reason -> count, for /metrics.
std::map<std::string, uint64_t> cluster_refusals();

/// The cluster actor's proof state (only touched by that actor).
class LinkGuard {
public:
  LinkGuard(std::string self_address, std::string secret, std::chrono::milliseconds handshake_timeout,
            uint16_t listen_port, caf::io::middleman_actor mm);

  bool enabled() const { return !secret_.empty(); }
  const std::string& self_address() const { return self_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  uint16_t listen_port() const { return listen_port_; }
  const caf::io::middleman_actor& middleman() const { return mm_; }

  /// Whether messages of `sender` may be accepted: local, or its node proved
  /// the secret (always, without a secret).
  bool admits(const caf::strong_actor_ptr& sender, const caf::node_id& local) const;
  /// The address `node` proved itself under ("" when it has not).
  std::string proven_address(const caf::node_id& node) const;
  void forget(const caf::node_id& node);

  /// Listener: a nonce for a dialer claiming `address`.
  LinkAuth challenge(const caf::node_id& from, const std::string& address);
  /// Listener: checks the dialer's proof; on success the node is proven and
  /// the answer to its nonce is returned, else the refusal reason (metric
  /// label) and text.
  struct Refusal {
    std::string reason;
    std::string text;
  };
  std::variant<LinkAuth, Refusal> verify(const caf::node_id& from, const LinkAuth& proof);
  /// Dialer: the proof for the listener's nonce, and whether the listener's
  /// answer to the dialer's nonce `mine` is right.
  std::string dialer_proof(const std::string& nonce, const std::string& listener) const {
    return cluster::link_proof(secret_, cluster::LinkRole::dialer, nonce, self_, listener);
  }
  bool listener_answer_ok(const std::string& mine, const std::string& listener, const std::string& proof) const {
    return cluster::proof_matches(cluster::link_proof(secret_, cluster::LinkRole::listener, mine, listener, self_),
                                  proof);
  }
  /// Dialer: marks the listener's node proven.
  void proven(const caf::node_id& node, const std::string& address) { proven_[node] = address; }

  /// Logs `text` unless the same key was logged in the last 30 s.
  void log_limited(const std::string& key, const std::string& text);

  cluster::HandshakeClock& clock() { return clock_; }
  std::map<caf::actor_addr, caf::actor>& relays() { return relays_; }

private:
  struct Pending {
    std::string address;
    std::string nonce;
    std::chrono::steady_clock::time_point deadline;
  };
  std::string self_;
  std::string secret_;
  std::chrono::milliseconds timeout_;
  uint16_t listen_port_;
  caf::io::middleman_actor mm_;
  std::map<caf::node_id, Pending> pending_;
  std::map<caf::node_id, std::string> proven_;
  std::map<std::string, std::chrono::steady_clock::time_point> logged_;
  cluster::HandshakeClock clock_;
  std::map<caf::actor_addr, caf::actor> relays_;  // a peer forwarder -> its ack relay here
};

/// Dialer: proves the secret to `remote` (the cluster actor at `address`) and
/// checks its answer; then `done("")`, or `done(why)` when either side refused.
/// Without a secret `done("")` at once.
void prove_link(caf::event_based_actor* self, std::shared_ptr<LinkGuard> g, const std::string& address,
                caf::actor remote, std::function<void(const std::string&)> done);

/// The listener's side of the proof (auth_atom, prove_atom) and the sweep of
/// connections past the handshake bound (sweep_links_atom; start_link_sweep).
caf::message_handler link_guard_handlers(caf::event_based_actor* self, std::shared_ptr<LinkGuard> g);
void start_link_sweep(caf::event_based_actor* self, const LinkGuard& g);

/// Whether the current message may be accepted (LinkGuard::admits); when not,
/// counts and logs `what` as refused from an unproven node.
bool admit_current(caf::event_based_actor* self, std::shared_ptr<LinkGuard> g, const char* what);

/// The link to `node` finished (proof and hello): its connection, if it came
/// in on the cluster port, is no longer subject to the handshake bound.
void link_finished(caf::event_based_actor* self, std::shared_ptr<LinkGuard> g, const caf::node_id& node);

/// The local actor that relays acks and nacks to the peer forwarder `fwd`
/// with itself as sender (created on first use, linked to `self`).
caf::actor ack_relay(caf::event_based_actor* self, LinkGuard& g, const caf::actor& fwd);
/// Drops what is kept for a node that went down (proof, relays).
void forget_node(caf::event_based_actor* self, LinkGuard& g, const caf::node_id& node);

}  // namespace waymark
