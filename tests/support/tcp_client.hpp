// A blocking client of the TCP gateway (PRODUCT.md §5) for integration tests:
// sends NDJSON lines, reads the server's {"ack"}, {"nack"} and {"fatal"} lines
// with timeouts, and remembers everything it saw so tests can assert on order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace waymark::it {

struct Nack {
  uint64_t line = 0;
  std::string error;
  uint64_t acked_when_received = 0;  // highest ack seen before this nack arrived
};

class TcpClient {
public:
  TcpClient() = default;
  ~TcpClient();
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  /// Connects to 127.0.0.1:port. Sends block at most `send_timeout_ms`
  /// (SO_SNDTIMEO), so a stalled server fails a test instead of hanging it.
  bool connect(uint16_t port, int send_timeout_ms = 15000);
  void close();

  /// Sends `line` + "\n". False when the socket failed or timed out.
  bool send_line(const std::string& line);
  /// Sends bytes as they are (no newline added).
  bool send_raw(const std::string& data);

  /// Reads and records server lines until the cumulative ack reaches `n`.
  /// False on timeout, on close, or when a fatal error arrives first.
  bool wait_ack(uint64_t n, int timeout_ms = 10000);
  /// Reads and records server lines until the server closes the connection.
  bool wait_closed(int timeout_ms = 10000);
  /// Reads and records the server lines already available, without waiting.
  void drain_available();
  /// Reads one server line (recorded as well); nullopt on timeout or close.
  std::optional<std::string> read_line(int timeout_ms);

  uint64_t acked() const { return acked_; }
  const std::vector<Nack>& nacks() const { return nacks_; }
  const std::optional<std::string>& fatal_error() const { return fatal_; }
  bool closed_by_server() const { return eof_; }
  /// Problems in what the server sent: unparseable lines, decreasing acks.
  const std::vector<std::string>& protocol_violations() const { return violations_; }
  /// Everything the server sent (last 50 lines) and the socket state, for messages.
  std::string transcript() const;
  const std::string& last_error() const { return error_; }

private:
  bool fill(int timeout_ms);  // reads once into buf_; false on timeout/close/error
  std::optional<std::string> take_line();
  void record(const std::string& line);

  int fd_ = -1;
  std::string buf_;
  uint64_t acked_ = 0;
  std::vector<Nack> nacks_;
  std::optional<std::string> fatal_;
  bool eof_ = false;
  std::vector<std::string> violations_;
  std::vector<std::string> seen_;
  std::string error_;
};

}  // namespace waymark::it
