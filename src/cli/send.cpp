// `waymark send` client: a writer (the calling thread) streams lines within the
// window; a reader thread consumes {"ack"}/{"nack"}/{"error","fatal"} lines.
// Plain POSIX sockets; both threads meet in `Shared` under one mutex.
#include "cli/send.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <istream>
#include <mutex>
#include <ostream>
#include <sstream>
#include <thread>

#include "waymark/json.hpp"

namespace waymark::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kFlushBytes = 64 * 1024;
constexpr auto kProgressInterval = std::chrono::milliseconds(100);

// State shared by the writer and the reader thread (guarded by `mu`).
struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t conn_sent = 0;   // connection lines written, hello included
  uint64_t conn_acked = 0;  // highest cumulative ack
  std::deque<uint64_t> inflight;  // input line numbers of connection lines popped+1, ...
  uint64_t popped = 0;
  uint64_t nacked = 0;  // event lines nacked (not the hello)
  std::vector<NackInfo> first_nacks;
  size_t nacks_kept = 5;
  std::optional<std::string> fatal;
  bool closed = false;  // the reader saw EOF or an error
  Clock::time_point last_message = Clock::now();
};

Result<int> connect_to(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) return make_error("connect_failed", "cannot resolve " + host + ": " + gai_strerror(rc));
  std::string last = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      timeval tv{1, 0};  // blocked sends wake up to check for timeouts and fatal errors
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      return fd;
    }
    last = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return make_error("connect_failed",
                    "cannot connect to " + host + ":" + std::to_string(port) + ": " + last);
}

void on_ack(Shared& s, uint64_t n) {
  if (n <= s.conn_acked) return;
  s.conn_acked = n;
  while (s.popped < n && !s.inflight.empty()) {
    s.inflight.pop_front();
    ++s.popped;
  }
}

void on_nack(Shared& s, uint64_t n, std::string error, bool has_hello) {
  uint64_t input_line = 0;
  if (n > s.popped && n - s.popped <= s.inflight.size()) input_line = s.inflight[n - s.popped - 1];
  bool is_hello = has_hello && n == 1;
  if (!is_hello) ++s.nacked;
  if (s.first_nacks.size() < s.nacks_kept) {
    s.first_nacks.push_back(NackInfo{is_hello ? 0 : input_line, std::move(error)});
  }
}

uint64_t as_count(const boost::json::value& v) {
  if (v.is_int64() && v.as_int64() > 0) return static_cast<uint64_t>(v.as_int64());
  if (v.is_uint64()) return v.as_uint64();
  return 0;
}

std::string error_text(const boost::json::object& o) {
  auto it = o.find("error");
  if (it == o.end()) return "unknown error";
  if (it->value().is_string()) return std::string(it->value().as_string());
  return boost::json::serialize(it->value());
}

void on_server_line(Shared& s, std::string_view line, bool has_hello) {
  std::error_code ec;
  auto v = parse_stored_json(line, ec);
  if (ec || !v.is_object()) return;  // not ours to judge: ignore
  const auto& o = v.as_object();
  std::lock_guard<std::mutex> lk(s.mu);
  s.last_message = Clock::now();
  if (auto* n = o.if_contains("nack")) on_nack(s, as_count(*n), error_text(o), has_hello);
  if (auto* n = o.if_contains("ack")) on_ack(s, as_count(*n));
  if (auto* f = o.if_contains("fatal"); f && f->is_bool() && f->as_bool()) s.fatal = error_text(o);
  s.cv.notify_all();
}

void reader_loop(int fd, Shared& s, bool has_hello) {
  std::string buf;
  char tmp[64 * 1024];
  for (;;) {
    auto n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      on_server_line(s, std::string_view(buf).substr(start, nl - start), has_hello);
    }
    buf.erase(0, start);
  }
  std::lock_guard<std::mutex> lk(s.mu);
  s.closed = true;
  s.cv.notify_all();
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

// The writer side of one send.
class Sender {
public:
  Sender(int fd, Shared& s, const SendOptions& o, std::ostream* progress)
      : fd_(fd), s_(s), o_(o), progress_(progress) {}

  void run(std::istream& in) {
    start_ = Clock::now();
    if (o_.write_key) {
      std::string hello = boost::json::serialize(
          boost::json::object{{"type", "hello"}, {"writeKey", *o_.write_key}});
      if (!queue(hello, 0)) return finish();
    }
    std::string line;
    uint64_t input_line = 0;
    while (std::getline(in, line)) {
      ++input_line;
      bytes_read_ += line.size() + 1;
      if (blank(line)) continue;
      if (line.back() == '\r') line.pop_back();
      if (!queue(line, input_line)) return finish();
      tick(false);
    }
    if (flush()) wait_until([this] { return s_.conn_acked >= s_.conn_sent; });
    finish();
  }

  SendSummary summary() {
    std::lock_guard<std::mutex> lk(s_.mu);
    SendSummary out;
    uint64_t hello = o_.write_key ? 1 : 0;
    out.sent = s_.conn_sent > hello ? s_.conn_sent - hello : 0;
    uint64_t covered = std::min(s_.conn_acked, s_.conn_sent);
    covered = covered > hello ? covered - hello : 0;
    out.nacked = s_.nacked;
    out.acked = covered - std::min(covered, s_.nacked);
    out.first_nacks = s_.first_nacks;
    out.fatal = s_.fatal;
    if (!s_.fatal && s_.conn_acked < s_.conn_sent) {
      if (!lost_.empty()) {
        out.connection_error = lost_;
      } else if (s_.closed) {
        out.connection_error = "connection closed by the server before the last ack";
      }
    }
    out.seconds = std::chrono::duration<double>(end_ - start_).count();
    return out;
  }

private:
  // Appends one line within the window; false when the connection is done for.
  bool queue(const std::string& line, uint64_t input_line) {
    bool room;
    {
      std::lock_guard<std::mutex> lk(s_.mu);
      room = s_.conn_sent - s_.conn_acked < o_.unacked_max;
    }
    if (!room) {
      if (!flush()) return false;
      if (!wait_until([this] { return s_.conn_sent - s_.conn_acked < o_.unacked_max; }))
        return false;
    }
    {
      std::lock_guard<std::mutex> lk(s_.mu);
      if (s_.fatal) return false;
      ++s_.conn_sent;
      s_.inflight.push_back(input_line);
    }
    out_ += line;
    out_ += '\n';
    return out_.size() < kFlushBytes || flush();
  }

  bool flush() {
    size_t off = 0;
    auto since = Clock::now();
    while (off < out_.size()) {
      auto n = ::send(fd_, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
        since = Clock::now();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // SO_SNDTIMEO: server not reading
        if (ended(since)) return false;
        tick(false);
        continue;
      }
      lost_ = std::string("connection lost: ") + std::strerror(errno);
      return false;
    }
    out_.clear();
    return true;
  }

  // Closed, fatal or timed out (no server message since max(since, last message)).
  bool ended(Clock::time_point since) {
    std::lock_guard<std::mutex> lk(s_.mu);
    if (s_.fatal || s_.closed) return true;
    return timed_out(std::max(since, s_.last_message));
  }

  bool timed_out(Clock::time_point since) {
    if (Clock::now() - since <= o_.ack_timeout) return false;
    lost_ = "no ack from the server for " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(o_.ack_timeout).count()) +
            " s";
    return true;
  }

  template <class Pred>
  bool wait_until(Pred done) {
    auto since = Clock::now();
    std::unique_lock<std::mutex> lk(s_.mu);
    for (;;) {
      if (done()) return true;
      if (s_.fatal || s_.closed) return false;
      if (timed_out(std::max(since, s_.last_message))) return false;
      s_.cv.wait_for(lk, kProgressInterval);
      lk.unlock();
      tick(false);
      lk.lock();
    }
  }

  void tick(bool force) {
    if (!progress_) return;
    auto now = Clock::now();
    if (!force && now - last_progress_ < kProgressInterval) return;
    last_progress_ = now;
    auto s = summary();
    double secs = std::chrono::duration<double>(now - start_).count();
    std::ostringstream line;
    if (o_.input_bytes_total > 0) {
      auto pct = std::min<uint64_t>(100, bytes_read_ * 100 / o_.input_bytes_total);
      size_t filled = static_cast<size_t>(pct * 30 / 100);
      line << '[' << std::string(filled, '#') << std::string(30 - filled, '.') << "] " << pct
           << "% ";
    }
    line << s.sent << " sent, " << s.acked << " acked, " << s.nacked << " nacked, "
         << std::llround(secs > 0 ? static_cast<double>(s.sent) / secs : 0) << " events/s";
    *progress_ << '\r' << line.str() << "\033[K" << std::flush;
    shown_ = true;
  }

  void finish() {
    end_ = Clock::now();
    if (progress_ && shown_) *progress_ << "\r\033[K" << std::flush;
  }

  int fd_;
  Shared& s_;
  const SendOptions& o_;
  std::ostream* progress_;
  std::string out_;
  std::string lost_;
  uint64_t bytes_read_ = 0;
  bool shown_ = false;
  Clock::time_point start_, end_, last_progress_;
};

}  // namespace

Result<SendSummary> send_events(std::istream& in, const SendOptions& options,
                                std::ostream* progress) {
  auto fd = connect_to(options.host, options.port);
  if (!fd.ok()) return fd.error();
  try {
    Shared shared;
    shared.nacks_kept = options.nack_errors_kept;
    bool has_hello = options.write_key.has_value();
    std::thread reader([&] { reader_loop(*fd, shared, has_hello); });
    Sender sender(*fd, shared, options, progress);
    std::optional<Error> failure;
    try {
      sender.run(in);
    } catch (const std::exception& e) {
      failure = make_error("send_failed", e.what());
    }
    ::shutdown(*fd, SHUT_RDWR);  // wakes the reader
    reader.join();
    ::close(*fd);
    if (failure) return *failure;
    return sender.summary();
  } catch (const std::exception& e) {  // the reader thread could not start
    ::close(*fd);
    return make_error("send_failed", e.what());
  }
}

std::string format_summary(const SendSummary& s) {
  std::ostringstream out;
  auto rate = s.seconds > 0 ? std::llround(static_cast<double>(s.sent) / s.seconds)
                            : static_cast<long long>(s.sent);
  out << "sent " << s.sent << " events, acked " << s.acked << ", nacked " << s.nacked << ", "
      << rate << " events/s\n";
  for (const auto& n : s.first_nacks) {
    if (n.line == 0) {
      out << "hello: " << n.error << "\n";
    } else {
      out << "line " << n.line << ": " << n.error << "\n";
    }
  }
  return out.str();
}

}  // namespace waymark::cli
