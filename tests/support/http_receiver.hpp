// Real servers on 127.0.0.1 for delivery tests: a loopback TCP server base
// (thread per connection, stoppable) and an HTTP/1.1 receiver (keep-alive)
// that records every request it gets and answers from a test-supplied script
// (status, headers, delay), so tests can play a flaky or slow webhook target.
// With start_https() the receiver speaks HTTPS (support/tls.hpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct ssl_st;
struct ssl_ctx_st;

namespace waymark::it {

/// Accepts connections on 127.0.0.1:<free port> and runs `handler(fd)` on a
/// thread per connection. stop() closes the listener, shuts every
/// connection down (so blocked reads return) and joins all threads.
class LoopbackServer {
public:
  using Handler = std::function<void(int fd)>;
  LoopbackServer() = default;
  ~LoopbackServer() { stop(); }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  /// Binds and starts accepting; false (with error()) on failure.
  bool start(Handler handler);
  void stop();
  uint16_t port() const { return port_; }
  const std::string& error() const { return error_; }
  /// Connections accepted so far.
  size_t connections();
  /// Sleeps `ms` unless stop() is called first; false when stopped.
  bool sleep_unless_stopped(int64_t ms);

private:
  void accept_loop();

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::string error_;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<int> fds_;  // open connections
  std::vector<std::thread> threads_;
};

/// Reads one "\r\n"-terminated line (without it) from a blocking socket; false on close.
bool read_line(int fd, std::string& buf, std::string& line);
/// Writes all bytes; false on error.
bool write_all(int fd, const std::string& data);

/// One accepted connection (not owned: LoopbackServer closes the fd): in
/// clear until start_tls() has made the server side of a TLS handshake
/// (at once for https, after "STARTTLS" for SMTP). Implemented in tls.cpp.
class Conn {
public:
  explicit Conn(int fd) : fd_(fd) {}
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  /// The handshake; false (and the connection is useless) when the client gave up.
  bool start_tls(ssl_ctx_st* ctx);
  bool tls() const { return ssl_ != nullptr; }
  /// Like recv(2): > 0 bytes read, <= 0 closed or failed.
  long recv(char* buf, size_t n);
  bool send_all(const std::string& data);

private:
  int fd_;
  ssl_st* ssl_ = nullptr;
};

bool read_line(Conn& c, std::string& buf, std::string& line);
bool write_all(Conn& c, const std::string& data);

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::steady_clock::time_point at;    // when the request was complete
  int connection = 0;                          // which TCP connection carried it (keep-alive check)
  std::string header(const std::string& lower_name) const;
};

struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = "ok";
  int64_t delay_ms = 0;  // wait before answering
};

class HttpReceiver {
public:
  /// Answers request number `index` (0-based, over all connections).
  using Script = std::function<Reply(const ReceivedRequest& req, size_t index)>;

  explicit HttpReceiver(Script script = nullptr);
  ~HttpReceiver();
  bool start();
  /// HTTPS with this server context (not owned; must outlive the receiver).
  bool start_https(ssl_ctx_st* tls);
  void stop() { server_.stop(); }
  uint16_t port() const { return server_.port(); }
  /// http:// or https://127.0.0.1:<port><path>
  std::string url(const std::string& path = "/hook") const;
  /// TLS handshakes the client broke off (e.g. it did not trust the certificate).
  size_t tls_failures() const;

  /// Snapshot of every request received so far, in arrival order.
  std::vector<ReceivedRequest> requests() const;
  size_t count() const;
  /// Waits until at least `n` requests arrived (or the timeout); true when they did.
  bool wait_for(size_t n, int timeout_ms);

private:
  void serve(Conn& c, int connection);

  Script script_;
  ssl_ctx_st* tls_ = nullptr;
  size_t tls_failures_ = 0;  // guarded by mu_
  LoopbackServer server_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;
  int connections_ = 0;
};

}  // namespace waymark::it
