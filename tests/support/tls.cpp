#include "support/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

#include "support/http_receiver.hpp"

namespace waymark::it {

namespace {

constexpr const char* kOpensslConfig = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = waymark-test
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[v3_node]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1
authorityKeyIdentifier = keyid
)";

constexpr const char* kNewKey = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

}  // namespace

bool TestPki::run(const std::string& args) {
  std::string cmd = "cd '" + dir_.path() + "' && openssl " + args + " >>openssl.log 2>&1";
  if (std::system(cmd.c_str()) == 0)
    return true;
  error_ = "openssl " + args + " failed: " + read_file(dir_ / "openssl.log");
  return false;
}

TestPki::TestPki() {
  if (!write_file(dir_ / "pki.cnf", kOpensslConfig)) {
    error_ = "cannot write " + (dir_ / "pki.cnf");
    return;
  }
  const std::string ca = std::string("req -x509 -config pki.cnf -extensions v3_ca -days 2") + kNewKey;
  run(ca + " -keyout ca.key -out ca.pem -subj /CN=waymark-test-ca") &&
    run(ca + " -keyout other-ca.key -out other-ca.pem -subj /CN=waymark-other-ca") &&
    run(std::string("req -new -config pki.cnf") + kNewKey + " -keyout server.key -out server.csr -subj /CN=localhost") &&
    run("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 -extfile pki.cnf "
        "-extensions v3_server -out server.pem");
}

bool TestPki::make_node(const std::string& name, bool other_ca) {
  const std::string ca = other_ca ? "other-ca" : "ca";
  return ok() &&
         run(std::string("req -new -config pki.cnf") + kNewKey + " -keyout " + name + ".key -out " + name +
             ".csr -subj /CN=" + name) &&
         run("x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca + ".key -set_serial " +
             std::to_string(++serial_) + " -days 2 -extfile pki.cnf -extensions v3_node -out " + name + ".pem");
}

TlsServerContext::TlsServerContext(const std::string& cert_file, const std::string& key_file) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (ctx_ && SSL_CTX_use_certificate_chain_file(ctx_, cert_file.c_str()) == 1 &&
      SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM) == 1)
    return;
  SSL_CTX_free(ctx_);
  ctx_ = nullptr;
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

Conn::~Conn() { SSL_free(ssl_); }

bool Conn::start_tls(ssl_ctx_st* ctx) {
  static const bool no_sigpipe = [] {  // SSL_write on a socket the client closed must not kill the tests
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)no_sigpipe;
  ssl_ = SSL_new(ctx);
  if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1 || SSL_accept(ssl_) != 1) {
    ERR_clear_error();
    return false;
  }
  return true;
}

long Conn::recv(char* buf, size_t n) {
  for (;;) {
    long got = ssl_ ? SSL_read(ssl_, buf, static_cast<int>(n)) : ::recv(fd_, buf, n, 0);
    if (got < 0 && !ssl_ && errno == EINTR)
      continue;
    if (got <= 0 && ssl_)
      ERR_clear_error();
    return got;
  }
}

bool Conn::send_all(const std::string& data) {
  if (!ssl_)
    return write_all(fd_, data);
  size_t off = 0;
  while (off < data.size()) {
    int n = SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

bool read_line(Conn& c, std::string& buf, std::string& line) {
  for (;;) {
    auto nl = buf.find("\r\n");
    if (nl != std::string::npos) {
      line = buf.substr(0, nl);
      buf.erase(0, nl + 2);
      return true;
    }
    char tmp[4096];
    long n = c.recv(tmp, sizeof tmp);
    if (n <= 0)
      return false;
    buf.append(tmp, static_cast<size_t>(n));
  }
}

bool write_all(Conn& c, const std::string& data) { return c.send_all(data); }

}  // namespace waymark::it
