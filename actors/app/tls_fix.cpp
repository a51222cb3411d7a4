// Workarounds for caf_openssl 0.17.6 (CAF-0.17.md §7c), in the executable so
// that they take precedence over libssl's symbols for libcaf_openssl.so (the
// executable comes first in symbol lookup; `nm -D waymark` lists them).
//
// 1. OpenSSL needs an empty per-thread error queue before each TLS I/O call;
//    caf_openssl drains it only in log statements (compiled out in Debian's
//    build). A peer that leaves or is refused leaves an entry there, and the
//    next would-block call on ANOTHER, healthy connection then looks fatal:
//    CAF drops it. Each wrapper clears the queue first.
// 2. While a TLS handshake waits for the peer (a raw TCP client that sends
//    nothing, a frozen peer), caf_openssl retries SSL_accept/SSL_connect on
//    every write event of the socket, i.e. in a busy loop on the multiplexer
//    thread. On a cluster socket the wrapper then waits up to 1 ms for input
//    on it, which turns the spin into at most ~1,000 cheap calls a second
//    until the handshake bound (cluster.handshake_timeout_ms) drops the socket.
// 3. A failed handshake on a cluster socket is counted and logged (caf_openssl
//    shows nothing; tls_hooks::handshake_failed).
// Other users of libssl in this process (libcurl) go through the same
// wrappers: clearing the error queue first is what OpenSSL asks of them too,
// and 2 and 3 apply to cluster sockets only.
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include "actors/cluster_tls.hpp"

namespace {

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

/// The handshake step of a cluster socket: clears the queue, calls OpenSSL,
/// and on "want read" waits up to 1 ms for input; counts a failure.
int handshake(SSL* s, int (*step)(SSL*), bool accepting) {
  ERR_clear_error();
  int r = step(s);
  if (r == 1)
    return r;
  int fd = SSL_get_fd(s);
  if (fd < 0 || !waymark::tls_hooks::cluster_socket(fd, accepting))
    return r;
  int e = SSL_get_error(s, r);
  if (e == SSL_ERROR_WANT_READ) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 1);
  } else if (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) != SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    // (a peer that closes before any handshake, e.g. one the handshake bound
    // dropped, is not a TLS refusal; caf_openssl may call a failed session
    // again: it is counted once)
    static const int counted = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    if (SSL_get_ex_data(s, counted) == nullptr) {
      SSL_set_ex_data(s, counted, s);
      waymark::tls_hooks::handshake_failed(s, fd, accepting);
    }
  }
  return r;
}

}  // namespace

extern "C" int SSL_read(SSL* s, void* buf, int n) {
  static auto f = real<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return f(s, buf, n);
}

extern "C" int SSL_write(SSL* s, const void* buf, int n) {
  static auto f = real<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return f(s, buf, n);
}

extern "C" int SSL_connect(SSL* s) {
  static auto f = real<int (*)(SSL*)>("SSL_connect");
  return handshake(s, f, false);
}

extern "C" int SSL_accept(SSL* s) {
  static auto f = real<int (*)(SSL*)>("SSL_accept");
  return handshake(s, f, true);
}
