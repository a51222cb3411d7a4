// Cluster link security (PRODUCT.md §9 "Security"), pure code: the proof of
// cluster.secret every node-to-node link gives before any other message of it
// is accepted, the up-front check of the cluster.tls files, and the handshake
// clock that finds connections that did not finish in time. The CAF shells
// are actors/cluster_auth.* and actors/cluster_tls.*.
//
// The proof (mutual, one round trip each way, both over the same link):
//
//   dialer   -> listener   auth   {dialer address}
//   listener -> dialer     nonce_l (32 random bytes)
//   dialer   -> listener   prove  {dialer address, nonce_d, P(dialer, nonce_l)}
//   listener -> dialer     P(listener, nonce_d)
//
//   P(role, nonce) = HMAC-SHA256(secret, "waymark-cluster-link-v1\n" role "\n"
//                                nonce prover_address "\n" verifier_address)
//
// The role label keeps a listener's answer from being replayed as a dialer's
// proof (and back); the fresh nonces keep old proofs from being replayed; both
// addresses bind a proof to this pair of members.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "waymark/result.hpp"

namespace waymark::cluster {

/// HMAC-SHA256 (RFC 2104 over SHA-256, OpenSSL's libcrypto): 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

/// Lowercase hex of raw bytes.
std::string to_hex(std::string_view bytes);

/// `n` bytes from OpenSSL's CSPRNG (RAND_bytes); empty when it fails.
std::string random_bytes(size_t n);

inline constexpr size_t kNonceBytes = 32;

enum class LinkRole { dialer, listener };

/// The proof `prover` gives for `nonce` (chosen by the verifier).
std::string link_proof(std::string_view secret, LinkRole prover, std::string_view nonce,
                       std::string_view prover_address, std::string_view verifier_address);

/// Whether `got` is the proof expected (constant-time comparison).
bool proof_matches(std::string_view expected, std::string_view got);

/// Reads cluster.tls up front (caf_openssl would read them only at the first
/// connection and then abort or hang, CAF-0.17.md §7c pitfall 4): the
/// certificate chain and the key must parse and match, the CA file must load,
/// and the certificate must verify against that CA (dates included), or every
/// peer would refuse this node. The error names the key and the file.
std::optional<Error> check_tls_files(const std::string& cert, const std::string& key, const std::string& ca);

/// One TCP connection as seen from this process.
struct Connection {
  int fd = -1;
  std::string peer;  // "ip:port" of the other end
  bool crowded = false;  // (HandshakeClock::overdue) dropped for the max_unfinished bound, not for time
};

/// This process's accepted TCP connections on `local_port` (the listening
/// socket itself excluded), from /proc/self/fd.
std::vector<Connection> connections_on_port(uint16_t local_port);

/// Which connections have been open longer than the handshake bound without
/// the link on them finishing its handshake (proof and hello). Plain logic
/// over what a scan saw: a connection's age counts from the first scan that
/// saw it (so a connection is dropped between `timeout` and `timeout` plus one
/// scan interval after it opened). At most `max_unfinished` connections may
/// be unfinished at once (each one waiting in a TLS handshake costs the I/O
/// thread a little, actors/app/tls_fix.cpp): past that the oldest go too.
class HandshakeClock {
public:
  using time_point = std::chrono::steady_clock::time_point;
  explicit HandshakeClock(std::chrono::milliseconds timeout, size_t max_unfinished = 16)
      : timeout_(timeout), max_unfinished_(max_unfinished) {}

  /// The connections of `seen` (at `now`) to drop: not on a peer address that
  /// finished, and older than the timeout or beyond the max_unfinished newest.
  /// Forgets connections no longer seen.
  std::vector<Connection> overdue(time_point now, const std::vector<Connection>& seen);
  /// The link whose connection comes from `peer` ("ip:port") finished.
  void finished(const std::string& peer) { finished_.insert(peer); }
  size_t tracked() const { return first_seen_.size(); }

private:
  std::chrono::milliseconds timeout_;
  size_t max_unfinished_;
  std::map<std::pair<int, std::string>, time_point> first_seen_;
  std::set<std::string> finished_;
};

}  // namespace waymark::cluster
