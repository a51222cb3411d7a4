#include "support/http_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace waymark::it {

bool LoopbackServer::start(Handler handler) {
  handler_ = std::move(handler);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    error_ = std::string("listen: ") + std::strerror(errno);
    return false;
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
  return true;
}

void LoopbackServer::accept_loop() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_) {
      if (fd >= 0)
        ::close(fd);
      return;
    }
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      return;
    }
    fds_.push_back(fd);
    threads_.emplace_back([this, fd] {
      handler_(fd);
      ::shutdown(fd, SHUT_RDWR);
    });
  }
}

void LoopbackServer::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_ || listen_fd_ < 0)
      return;
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    for (int fd : fds_)
      ::shutdown(fd, SHUT_RDWR);
  }
  cv_.notify_all();
  if (acceptor_.joinable())
    acceptor_.join();
  for (auto& t : threads_)
    t.join();
  for (int fd : fds_)
    ::close(fd);
  ::close(listen_fd_);
}

size_t LoopbackServer::connections() {
  std::lock_guard<std::mutex> g(mu_);
  return fds_.size();
}

bool LoopbackServer::sleep_unless_stopped(int64_t ms) {
  std::unique_lock<std::mutex> g(mu_);
  return !cv_.wait_for(g, std::chrono::milliseconds(ms), [&] { return stopping_; });
}

bool read_line(int fd, std::string& buf, std::string& line) {
  for (;;) {
    auto nl = buf.find("\r\n");
    if (nl != std::string::npos) {
      line = buf.substr(0, nl);
      buf.erase(0, nl + 2);
      return true;
    }
    char tmp[4096];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    buf.append(tmp, static_cast<size_t>(n));
  }
}

bool write_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string ReceivedRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpReceiver::HttpReceiver(Script script) : script_(std::move(script)) {}
HttpReceiver::~HttpReceiver() { stop(); }

bool HttpReceiver::start() {
  return server_.start([this](int fd) {
    int conn;
    {
      std::lock_guard<std::mutex> g(mu_);
      conn = ++connections_;
    }
    Conn c(fd);
    if (tls_ && !c.start_tls(tls_)) {
      std::lock_guard<std::mutex> g(mu_);
      ++tls_failures_;
      return;
    }
    serve(c, conn);
  });
}

bool HttpReceiver::start_https(ssl_ctx_st* tls) {
  tls_ = tls;
  return start();
}

std::string HttpReceiver::url(const std::string& path) const {
  return (tls_ ? "https" : "http") + std::string("://127.0.0.1:") + std::to_string(port()) + path;
}

size_t HttpReceiver::tls_failures() const {
  std::lock_guard<std::mutex> g(mu_);
  return tls_failures_;
}

void HttpReceiver::serve(Conn& c, int connection) {
  std::string buf, line;
  for (;;) {
    ReceivedRequest req;
    req.connection = connection;
    if (!read_line(c, buf, line))
      return;
    auto sp1 = line.find(' '), sp2 = line.rfind(' ');
    req.method = line.substr(0, sp1);
    req.path = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
    while (read_line(c, buf, line) && !line.empty()) {
      auto colon = line.find(':');
      if (colon == std::string::npos)
        continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      req.headers[name] = value;
    }
    size_t length = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    while (buf.size() < length) {
      char tmp[4096];
      long n = c.recv(tmp, sizeof tmp);
      if (n <= 0)
        return;
      buf.append(tmp, static_cast<size_t>(n));
    }
    req.body = buf.substr(0, length);
    buf.erase(0, length);
    req.at = std::chrono::steady_clock::now();
    size_t index;
    {
      std::lock_guard<std::mutex> g(mu_);
      index = requests_.size();
      requests_.push_back(req);
    }
    cv_.notify_all();
    Reply r = script_ ? script_(req, index) : Reply{};
    if (r.delay_ms > 0 && !server_.sleep_unless_stopped(r.delay_ms))
      return;
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Length: " +
                      std::to_string(r.body.size()) + "\r\n";
    for (auto& [k, v] : r.headers)
      out += k + ": " + v + "\r\n";
    out += "\r\n" + r.body;
    if (!write_all(c, out))
      return;
  }
}

std::vector<ReceivedRequest> HttpReceiver::requests() const {
  std::lock_guard<std::mutex> g(mu_);
  return requests_;
}

size_t HttpReceiver::count() const {
  std::lock_guard<std::mutex> g(mu_);
  return requests_.size();
}

bool HttpReceiver::wait_for(size_t n, int timeout_ms) {
  std::unique_lock<std::mutex> g(mu_);
  return cv_.wait_for(g, std::chrono::milliseconds(timeout_ms), [&] { return requests_.size() >= n; });
}

}  // namespace waymark::it
