// Asynchronous HTTP/1.1 server on Boost.Beast/Asio (PRODUCT.md §6 transport).
//
// Owner: whoever constructs it (the app's HTTP front). It runs its own io
// threads; the Handler runs on an io thread and may answer later from any
// thread through the Responder. stop() (also run by the destructor) closes the
// listener and every connection and joins the threads. No CAF here.
//
// Per connection: keep-alive, one request at a time (the next request is read
// only after the response is written), body and header limits enforced by the
// parser (413 / 431 without buffering the rest), malformed HTTP -> 400 and
// close. Time bounds (PRODUCT.md §8): a keep-alive connection waits at most
// idle_timeout_s for the first byte of its next request; a request must be
// complete request_timeout_s after its first byte, and a new connection must
// complete its first request request_timeout_s after it was accepted. While
// waiting for a request a connection holds a buffer of a few hundred bytes.
// At connections_max the connection idle for longest is closed to make room;
// when none is idle the new one gets 503 and is closed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "waymark/roles.hpp"
#include "waymark/result.hpp"

namespace waymark::http {

struct Request {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // as sent: "/api/journeys/x?y=1"
  std::string path;    // target before '?', not decoded
  std::map<std::string, std::string> query;    // percent-decoded, '+' = space
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string remote;  // "127.0.0.1:53422"
  // Set only for a request a cluster peer relayed (actors/http_cluster.hpp),
  // never by the server: authorised at the node that took it from the
  // client, answered here for this node alone (no second fan-out).
  bool internal = false;
  Caller caller;       // set by the router on admin routes: who called (PRODUCT.md §11)
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  /// A streamed body (Transfer-Encoding: chunked) instead of `body`, for
  /// results of unbounded size: called on the connection's strand for each
  /// next piece until it returns false (the piece it filled then is still
  /// sent). One piece is in memory at a time, and the next is asked for only
  /// once the previous one is written, so a slow reader slows the producer.
  /// A producer that throws ends the connection (the body is cut short).
  std::function<bool(std::string& piece)> stream;
  /// Like `stream`, for a producer whose next piece comes later (from a
  /// cluster member): called on the strand with `done`, which it calls
  /// exactly once, from any thread, with the piece and whether more follow,
  /// or with nullopt to cut the body short (the client sees it incomplete).
  using PullDone = std::function<void(std::optional<std::string> piece, bool more)>;
  std::function<void(PullDone done)> pull;
};

/// Answers one request. Call exactly once, from any thread; the response is
/// posted to the connection's strand. When the connection (or the server) is
/// gone the response is dropped silently.
using Responder = std::function<void(Response)>;
/// Sets r.path and r.query from r.target, as the server does for each request.
void split_target(Request& r);
using Handler = std::function<void(Request&&, Responder)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = chosen by the OS; start() returns the actual one
  size_t body_bytes_max = 512 * 1024;
  size_t header_bytes_max = 16 * 1024;
  int threads = 1;
  int idle_timeout_s = 60;     // keep-alive: no new request for this long -> close
  int request_timeout_s = 10;  // a request (the first one: from accept) not complete in this long -> close
  size_t connections_max = 1000;
};

/// Counters of every Server in this process (one per node), for /metrics:
/// requests refused by the transport before any handler ran, and open
/// connections. Relaxed atomics; read them with load().
struct ServerStats {
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> refused_body_too_large{0};    // 413: body over body_bytes_max
  std::atomic<uint64_t> refused_header_too_large{0};  // 431
  std::atomic<uint64_t> refused_malformed{0};         // 400: not HTTP/1.1
  std::atomic<uint64_t> refused_busy{0};              // 503: over connections_max, none idle
  std::atomic<uint64_t> closed_idle{0};      // no request within idle_timeout_s
  std::atomic<uint64_t> closed_slow{0};      // request not complete within request_timeout_s
  std::atomic<uint64_t> closed_evicted{0};   // idle, closed to make room at connections_max
};
ServerStats& server_stats();

class Server {
public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds, listens and starts the io threads. Returns the bound port.
  Result<uint16_t> start();
  /// Closes the listener and all connections, joins the threads. Idempotent.
  void stop();
  size_t open_connections() const;
  /// Connections waiting for their next request (candidates for eviction).
  size_t idle_connections() const;

  struct Impl;

private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace waymark::http
