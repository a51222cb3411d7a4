// TLS for the test servers: a throwaway PKI made at run time with the openssl
// CLI (nothing is committed: a CA, a server certificate for 127.0.0.1 and
// localhost signed by it, and a second CA that signed nothing the servers
// present) and a server SSL_CTX over it. Conn (http_receiver.hpp) does the
// handshakes.
#pragma once

#include <string>

#include "support/temp_dir.hpp"

struct ssl_ctx_st;

namespace waymark::it {

class TestPki {
public:
  /// Generates everything (about half a second); ok() tells whether it worked.
  TestPki();
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  /// PEM of the CA that signed the server certificate.
  std::string ca_file() const { return dir_ / "ca.pem"; }
  /// PEM of a CA that did not sign it (a client trusting only this must refuse the server).
  std::string other_ca_file() const { return dir_ / "other-ca.pem"; }
  std::string cert_file() const { return dir_ / "server.pem"; }
  std::string key_file() const { return dir_ / "server.key"; }

  /// Makes a cluster node certificate <name>.pem / <name>.key (EC P-256,
  /// serverAuth + clientAuth: a node is TLS server and client; SAN IP
  /// 127.0.0.1), signed by the CA, or by the other CA when `other_ca`.
  bool make_node(const std::string& name, bool other_ca = false);
  std::string node_cert(const std::string& name) const { return dir_ / (name + ".pem"); }
  std::string node_key(const std::string& name) const { return dir_ / (name + ".key"); }

private:
  bool run(const std::string& args);

  TempDir dir_{"waymark-pki-"};
  std::string error_;
  int serial_ = 1;
};

/// A TLS server context over a certificate and key (PEM files).
class TlsServerContext {
public:
  TlsServerContext(const std::string& cert_file, const std::string& key_file);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;
  bool ok() const { return ctx_ != nullptr; }
  ssl_ctx_st* get() const { return ctx_; }

private:
  ssl_ctx_st* ctx_ = nullptr;
};

}  // namespace waymark::it
