#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "waymark/cluster_auth.hpp"

namespace waymark::cluster {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return "";
  return out;
}

std::string link_proof(std::string_view secret, LinkRole prover, std::string_view nonce,
                       std::string_view prover_address, std::string_view verifier_address) {
  std::string msg = "waymark-cluster-link-v1\n";
  msg += prover == LinkRole::dialer ? "dialer" : "listener";
  msg += '\n';
  msg += nonce;
  msg += prover_address;
  msg += '\n';
  msg += verifier_address;
  return hmac_sha256(secret, msg);
}

bool proof_matches(std::string_view expected, std::string_view got) {
  return expected.size() == got.size() && !expected.empty() &&
         CRYPTO_memcmp(expected.data(), got.data(), expected.size()) == 0;
}

namespace {

std::string openssl_error() {
  char buf[256] = "unknown error";
  if (auto e = ERR_get_error())
    ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::optional<Error> tls_error(const std::string& key, const std::string& path, const std::string& why) {
  return make_error("bad_config", "cluster.tls." + key + " " + path + ": " + why);
}

std::optional<Error> check_loaded(SSL_CTX* ctx, const std::string& cert, const std::string& key,
                                  const std::string& ca) {
  if (::access(cert.c_str(), R_OK) != 0)
    return tls_error("cert", cert, "cannot read the file");
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    return tls_error("cert", cert, "not a PEM certificate chain (" + openssl_error() + ")");
  if (::access(key.c_str(), R_OK) != 0)
    return tls_error("key", key, "cannot read the file");
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    auto detail = openssl_error();
    if (mismatch)
      return tls_error("key", key, "does not match cluster.tls.cert " + cert + " (" + detail + ")");
    return tls_error("key", key, "not an unencrypted PEM private key (" + detail + ")");
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    return tls_error("key", key, "does not match cluster.tls.cert " + cert + " (" + openssl_error() + ")");
  if (::access(ca.c_str(), R_OK) != 0)
    return tls_error("ca", ca, "cannot read the file");
  if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1)
    return tls_error("ca", ca, "not a PEM CA certificate (" + openssl_error() + ")");
  X509_STORE_CTX* vctx = X509_STORE_CTX_new();
  std::optional<Error> out;
  if (!vctx || X509_STORE_CTX_init(vctx, SSL_CTX_get_cert_store(ctx), SSL_CTX_get0_certificate(ctx), nullptr) != 1)
    out = tls_error("cert", cert, "cannot be verified (" + openssl_error() + ")");
  else if (X509_verify_cert(vctx) != 1)
    out = tls_error("cert", cert,
                    std::string("does not verify against cluster.tls.ca ") + ca + " (" +
                      X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)) +
                      "): every peer would refuse this node");
  X509_STORE_CTX_free(vctx);
  return out;
}

}  // namespace

std::optional<Error> check_tls_files(const std::string& cert, const std::string& key, const std::string& ca) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (!ctx)
    return make_error("bad_config", "cluster.tls: cannot create an OpenSSL context (" + openssl_error() + ")");
  // A passphrase prompt on the terminal would hang the start: encrypted keys are refused.
  SSL_CTX_set_default_passwd_cb(ctx, [](char*, int, int, void*) { return 0; });
  auto err = check_loaded(ctx, cert, key, ca);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return err;
}

namespace {

/// "ip:port" of an IPv4/IPv6 socket address; empty for other families.
std::string endpoint(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = "";
  if (a.ss_family == AF_INET) {
    auto& in = reinterpret_cast<const sockaddr_in&>(a);
    ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in.sin_port));
  }
  if (a.ss_family == AF_INET6) {
    auto& in = reinterpret_cast<const sockaddr_in6&>(a);
    ::inet_ntop(AF_INET6, &in.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in.sin6_port));
  }
  return "";
}

uint16_t port_of(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return 0;
}

}  // namespace

std::vector<Connection> connections_on_port(uint16_t local_port) {
  std::vector<Connection> out;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d)
    return out;
  int own = ::dirfd(d);
  while (auto* e = ::readdir(d)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || end == e->d_name || fd == own)
      continue;
    sockaddr_storage local{}, peer{};
    socklen_t llen = sizeof local, plen = sizeof peer;
    int type = 0;
    socklen_t tlen = sizeof type;
    if (::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM)
      continue;
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &llen) != 0 ||
        port_of(local) != local_port)
      continue;
    if (::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &plen) != 0)
      continue;  // the listening socket
    auto p = endpoint(peer);
    if (!p.empty())
      out.push_back(Connection{static_cast<int>(fd), std::move(p)});
  }
  ::closedir(d);
  return out;
}

std::vector<Connection> HandshakeClock::overdue(time_point now, const std::vector<Connection>& seen) {
  std::map<std::pair<int, std::string>, time_point> still;
  std::set<std::string> peers;
  std::vector<std::pair<time_point, Connection>> waiting;  // unfinished, within the bound
  std::vector<Connection> out;
  for (auto& c : seen) {
    auto key = std::make_pair(c.fd, c.peer);
    auto it = first_seen_.find(key);
    auto since = it == first_seen_.end() ? now : it->second;
    still.emplace(key, since);
    peers.insert(c.peer);
    if (finished_.count(c.peer))
      continue;
    if (now - since >= timeout_)
      out.push_back(c);
    else
      waiting.emplace_back(since, c);
  }
  if (waiting.size() > max_unfinished_) {
    std::stable_sort(waiting.begin(), waiting.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < waiting.size() - max_unfinished_; ++i) {
      out.push_back(waiting[i].second);
      out.back().crowded = true;
    }
  }
  first_seen_ = std::move(still);
  for (auto it = finished_.begin(); it != finished_.end();)
    it = peers.count(*it) ? std::next(it) : finished_.erase(it);
  return out;
}

}  // namespace waymark::cluster
