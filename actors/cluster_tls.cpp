#include "actors/cluster_tls.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <caf/openssl/all.hpp>
#include <chrono>
#include <map>
#include <mutex>

#include "actors/cluster_auth.hpp"

namespace waymark {

void configure_cluster_tls(caf::actor_system_config& cfg, const Config& c) {
  cfg.set("openssl.certificate", c.cluster_tls_cert);
  cfg.set("openssl.key", c.cluster_tls_key);
  cfg.set("openssl.cafile", c.cluster_tls_ca);
  cfg.load<caf::openssl::manager>();
}

caf::io::middleman_actor cluster_middleman(caf::actor_system& sys, bool tls) {
  return tls ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
}

caf::expected<uint16_t> publish_cluster(const caf::actor& a, uint16_t port, const std::string& host, bool tls) {
  if (tls)
    return caf::openssl::publish(a, port, host.c_str(), true);
  return caf::io::publish(a, port, host.c_str(), true);
}

namespace tls_hooks {
namespace {

std::atomic<uint16_t> listen_port{0};
std::mutex mu;  // peer_ports and logged (the wrappers run on CAF's multiplexer thread)
std::vector<uint16_t> peer_ports;
std::map<std::string, std::chrono::steady_clock::time_point> logged;

bool addr_of(int fd, bool peer, sockaddr_storage& a) {
  socklen_t len = sizeof a;
  return (peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
               : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len)) == 0;
}

uint16_t port_of(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return 0;
}

std::string peer_name(int fd) {
  sockaddr_storage a{};
  char host[INET6_ADDRSTRLEN] = "?";
  if (!addr_of(fd, true, a))
    return "an unknown address";
  if (a.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in&>(a).sin_addr, host, sizeof host);
  else if (a.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6&>(a).sin6_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(port_of(a));
}

/// Why OpenSSL failed the handshake: the peer certificate's verification
/// error when there is one, else the first queued error (not popped).
std::string reason(ssl_st* ssl) {
  auto verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK)
    return std::string("peer certificate: ") + X509_verify_cert_error_string(verify);
  char buf[256] = "handshake failed";
  if (auto e = ERR_peek_error())
    ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

void set_ports(uint16_t listen, std::vector<uint16_t> peers) {
  std::lock_guard<std::mutex> lock(mu);
  peer_ports = std::move(peers);
  listen_port = listen;
}

bool cluster_socket(int fd, bool accepting) {
  if (listen_port == 0)
    return false;
  sockaddr_storage a{};
  if (!addr_of(fd, !accepting, a))
    return false;
  if (accepting)
    return port_of(a) == listen_port;
  std::lock_guard<std::mutex> lock(mu);
  return std::find(peer_ports.begin(), peer_ports.end(), port_of(a)) != peer_ports.end();
}

void handshake_failed(ssl_st* ssl, int fd, bool accepting) {
  count_cluster_refusal("tls");
  auto peer = peer_name(fd);
  auto why = reason(ssl);
  auto key = peer.substr(0, peer.rfind(':')) + why;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = logged.find(key);
    if (it != logged.end() && now - it->second < std::chrono::seconds(30))
      return;
    if (logged.size() > 128)
      logged.clear();
    logged[key] = now;
  }
  spdlog::warn("[cluster] TLS handshake {} {} refused (tls): {}", accepting ? "from" : "with", peer, why);
}

}  // namespace tls_hooks
}  // namespace waymark
