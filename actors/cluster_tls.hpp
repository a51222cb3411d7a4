// Node-to-node TLS through CAF 0.17.6's OpenSSL module (PRODUCT.md §9
// "Security", CAF-0.17.md §7c): with cluster.tls set, the cluster actor is
// published with caf::openssl::publish and peers are dialled through the
// OpenSSL manager's middleman actor; both sides present their certificate and
// verify the peer's chain against the private CA (cluster.tls.ca only, no
// system store). The binary carries the SSL_* error-queue workaround and the
// handshake spin guard (actors/app/tls_fix.cpp), which call the hooks below.
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "waymark/config.hpp"

struct ssl_st;

namespace waymark {

inline bool cluster_tls_enabled(const Config& c) { return !c.cluster_tls_cert.empty(); }

/// Sets openssl.certificate/key/cafile and loads CAF's OpenSSL module (before
/// the actor system exists); the files must have passed
/// cluster::check_tls_files.
void configure_cluster_tls(caf::actor_system_config& cfg, const Config& c);

/// The middleman actor that dials cluster peers (TLS or plain).
caf::io::middleman_actor cluster_middleman(caf::actor_system& sys, bool tls);

/// Publishes the cluster actor on host:port (TLS or plain BASP).
caf::expected<uint16_t> publish_cluster(const caf::actor& a, uint16_t port, const std::string& host, bool tls);

// -- hooks for the SSL_* wrappers in the binary ------------------------------------
namespace tls_hooks {
/// The cluster port and the peers' ports (set once the cluster starts).
void set_ports(uint16_t listen, std::vector<uint16_t> peers);
/// Whether `fd` is a connection accepted on the cluster port, or dialled to
/// a peer's port.
bool cluster_socket(int fd, bool accepting);
/// A TLS handshake on a cluster socket failed: counted in
/// waymark_cluster_refused_total{reason="tls"} and logged (rate-limited) with
/// the peer's address and OpenSSL's reason (read from the error queue, which
/// is left as it is for CAF).
void handshake_failed(ssl_st* ssl, int fd, bool accepting);
}  // namespace tls_hooks

}  // namespace waymark
