#include "support/tcp_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "support/events.hpp"

namespace waymark::it {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

TcpClient::~TcpClient() { close(); }

bool TcpClient::connect(uint16_t port, int send_timeout_ms) {
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = std::string("connect: ") + std::strerror(errno);
    close();
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{send_timeout_ms / 1000, (send_timeout_ms % 1000) * 1000};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return true;
}

void TcpClient::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

bool TcpClient::send_line(const std::string& line) { return send_raw(line + "\n"); }

bool TcpClient::send_raw(const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      error_ = std::string("send: ") + std::strerror(errno) +
               (errno == EAGAIN ? " (send timed out: the server stopped reading)" : "");
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

bool TcpClient::fill(int timeout_ms) {
  if (fd_ < 0 || eof_)
    return false;
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, timeout_ms);
  if (r <= 0)
    return false;
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno == ECONNRESET)) {
    eof_ = true;
    return false;
  }
  if (n < 0)
    return errno == EINTR || errno == EAGAIN;
  buf_.append(buf, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> TcpClient::take_line() {
  size_t nl = buf_.find('\n');
  if (nl == std::string::npos)
    return std::nullopt;
  std::string line = buf_.substr(0, nl);
  buf_.erase(0, nl + 1);
  record(line);
  return line;
}

void TcpClient::record(const std::string& line) {
  seen_.push_back(line);
  if (seen_.size() > 50)
    seen_.erase(seen_.begin());
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) {
    violations_.push_back("not a JSON object: " + line);
    return;
  }
  const auto& o = v.get_object();
  auto text = [&](const char* k) {
    auto* e = o.if_contains(k);
    return e && e->is_string() ? std::string(e->get_string()) : std::string();
  };
  if (int64_t a = int_at(v, "ack"); a >= 0) {
    auto n = static_cast<uint64_t>(a);
    if (n < acked_)
      violations_.push_back("ack went backwards: " + line);
    acked_ = std::max(acked_, n);
  } else if (int64_t k = int_at(v, "nack"); k >= 0) {
    nacks_.push_back(Nack{static_cast<uint64_t>(k), text("error"), acked_});
  } else if (auto* f = o.if_contains("fatal"); f && f->is_bool() && f->get_bool()) {
    fatal_ = text("error");
  } else {
    violations_.push_back("unexpected server line: " + line);
  }
}

std::optional<std::string> TcpClient::read_line(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto line = take_line())
      return line;
    if (!fill(remaining_ms(deadline)))
      return std::nullopt;
  }
}

bool TcpClient::wait_ack(uint64_t n, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (acked_ < n) {
    if (fatal_)
      return false;
    if (!read_line(remaining_ms(deadline)))
      return acked_ >= n;
  }
  return true;
}

bool TcpClient::wait_closed(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!eof_) {
    if (!read_line(remaining_ms(deadline)) && !eof_ && remaining_ms(deadline) == 0)
      return false;
  }
  return true;
}

void TcpClient::drain_available() {
  while (take_line() || fill(0)) {
  }
}

std::string TcpClient::transcript() const {
  std::string out = "acked=" + std::to_string(acked_) + " nacks=" + std::to_string(nacks_.size()) +
                    (fatal_ ? " fatal=\"" + *fatal_ + "\"" : "") + (eof_ ? " closed" : "") +
                    (error_.empty() ? "" : " error=\"" + error_ + "\"") + "\n  server lines (last 50):";
  for (const auto& l : seen_)
    out += "\n    " + l;
  return out;
}

}  // namespace waymark::it
