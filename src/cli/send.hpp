// `waymark send`: streams NDJSON events to the TCP gateway (PRODUCT.md §5),
// keeps at most `unacked_max` lines in flight, waits for the ack of the last
// line and summarises. Memory is bounded by the window, not the input size.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "waymark/result.hpp"

namespace waymark::cli {

struct SendOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7400;
  std::optional<std::string> write_key;  // sends {"type":"hello","writeKey":K} first
  size_t unacked_max = 65536;            // lines sent but not acked (the server's window)
  // Waiting (for window room or the last ack) with no message from the server
  // for this long fails the send.
  std::chrono::milliseconds ack_timeout = std::chrono::seconds(60);
  uint64_t input_bytes_total = 0;  // size of the input when known: percentage in the progress bar
  size_t nack_errors_kept = 5;     // first nack errors kept for the summary
};

struct NackInfo {
  uint64_t line = 0;  // line number in the input (blank lines counted); 0 = the hello line
  std::string error;
};

struct SendSummary {
  uint64_t sent = 0;    // events sent (the hello line not counted)
  uint64_t acked = 0;   // events covered by an ack and not nacked
  uint64_t nacked = 0;  // events rejected by the server
  std::vector<NackInfo> first_nacks;
  std::optional<std::string> fatal;             // {"error":...,"fatal":true} from the server
  std::optional<std::string> connection_error;  // lost or timed out before the last ack
  double seconds = 0;  // from connect to the last ack

  /// Everything acked, nothing nacked, no fatal error, no connection loss.
  bool ok() const { return !fatal && !connection_error && nacked == 0 && acked == sent; }
};

/// Connects, streams `in` (blank lines skipped), waits for the acks. `progress`
/// (e.g. stderr on a terminal) gets a one-line bar at most 10x per second; null
/// for none. An error only when the connection cannot be made; later problems
/// are in the summary.
Result<SendSummary> send_events(std::istream& in, const SendOptions& options,
                                std::ostream* progress);

/// "sent N events, acked A, nacked K, X events/s" and then "line L: error"
/// for the first nacks, one per line, each line ending in '\n'.
std::string format_summary(const SendSummary& s);

}  // namespace waymark::cli
