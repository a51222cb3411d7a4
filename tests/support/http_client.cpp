#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>

#include "waymark/json.hpp"

namespace waymark::it {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Connects to 127.0.0.1:port; -1 with `error` set on failure.
int connect_loopback(uint16_t port, std::string& error) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error = std::string("connect: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_all(int fd, const std::string& data, Clock::time_point deadline, std::string& error) {
  size_t off = 0;
  while (off < data.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
      error = "timeout while sending the request";
      return false;
    }
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      error = std::string("send: ") + std::strerror(errno);
      return false;
    }
    off += n > 0 ? static_cast<size_t>(n) : 0;
  }
  return true;
}

// Reads until the peer closes (we asked for Connection: close) or, once the
// head is known, until the body is complete.
bool read_all(int fd, Clock::time_point deadline, std::string& out, std::string& error,
              const std::function<bool(const std::string&)>& complete) {
  char buf[16384];
  while (!complete(out)) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r == 0) {
      error = "timeout while reading the response (" + std::to_string(out.size()) + " bytes so far)";
      return false;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0)
      return true;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      if (!out.empty() && errno == ECONNRESET)
        return true;
      error = std::string("recv: ") + std::strerror(errno);
      return false;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Decodes a chunked body; false when it is incomplete.
bool dechunk(const std::string& in, std::string& out) {
  out.clear();
  size_t pos = 0;
  for (;;) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos)
      return false;
    size_t len = std::strtoul(in.substr(pos, eol - pos).c_str(), nullptr, 16);
    pos = eol + 2;
    if (len == 0)
      return true;
    if (in.size() < pos + len + 2)
      return false;
    out.append(in, pos, len);
    pos += len + 2;
  }
}

struct Head {
  bool ok = false;
  size_t body_start = 0;
  int status = 0;
  std::map<std::string, std::string> headers;
};

Head parse_head(const std::string& raw) {
  Head h;
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos)
    return h;
  h.body_start = end + 4;
  size_t line_end = raw.find("\r\n");
  std::string status_line = raw.substr(0, line_end);
  size_t sp = status_line.find(' ');
  if (sp == std::string::npos)
    return h;
  h.status = std::atoi(status_line.c_str() + sp + 1);
  size_t pos = line_end + 2;
  while (pos < end) {
    size_t e = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, e - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos)
      h.headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
    pos = e + 2;
  }
  h.ok = h.status > 0;
  return h;
}

// True once `raw` holds a whole response (head + body by length or chunks).
bool response_complete(const std::string& raw) {
  Head h = parse_head(raw);
  if (!h.ok)
    return false;
  std::string body = raw.substr(h.body_start);
  if (lower(h.headers["transfer-encoding"]).find("chunked") != std::string::npos) {
    std::string decoded;
    return dechunk(body, decoded);
  }
  auto cl = h.headers.find("content-length");
  if (cl != h.headers.end())
    return body.size() >= std::strtoull(cl->second.c_str(), nullptr, 10);
  return h.status == 204 || h.status == 304 || (h.status >= 100 && h.status < 200);
}

std::string build_request(uint16_t port, const HttpRequest& req) {
  std::string out = req.method + " " + req.path + " HTTP/1.1\r\n";
  out += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  out += "Connection: close\r\n";
  bool has_type = false;
  for (const auto& [k, v] : req.headers) {
    out += k + ": " + v + "\r\n";
    has_type = has_type || lower(k) == "content-type";
  }
  if (!req.body.empty() || req.method != "GET") {
    if (!has_type)
      out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += req.body;
  return out;
}

}  // namespace

boost::json::value HttpResponse::json() const {
  std::error_code ec;
  auto v = waymark::parse_stored_json(body, ec);  // the node's own depth allowance
  return ec ? boost::json::value() : v;
}

std::string HttpResponse::describe() const {
  if (status == 0)
    return "no response: " + error;
  return std::to_string(status) + " " + body;
}

HttpResponse http_request(uint16_t port, const HttpRequest& req) {
  HttpResponse res;
  auto deadline = Clock::now() + std::chrono::milliseconds(req.timeout_ms);
  int fd = connect_loopback(port, res.error);
  if (fd < 0)
    return res;
  std::string raw;
  bool ok = send_all(fd, build_request(port, req), deadline, res.error) &&
            read_all(fd, deadline, raw, res.error, response_complete);
  ::close(fd);
  if (!ok)
    return res;
  Head h = parse_head(raw);
  if (!h.ok) {
    res.error = "malformed response: " + raw.substr(0, 200);
    return res;
  }
  res.status = h.status;
  res.headers = h.headers;
  res.body = raw.substr(h.body_start);
  if (lower(h.headers["transfer-encoding"]).find("chunked") != std::string::npos) {
    std::string decoded;
    dechunk(res.body, decoded);
    res.body = decoded;
  } else if (auto cl = h.headers.find("content-length"); cl != h.headers.end()) {
    res.body.resize(std::min<size_t>(res.body.size(), std::strtoull(cl->second.c_str(), nullptr, 10)));
  }
  return res;
}

std::string basic_auth(const std::string& user) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = user + ":", out;
  for (size_t i = 0; i < in.size(); i += 3) {
    size_t rest = std::min<size_t>(3, in.size() - i);
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (rest > 1)
      n |= uint32_t(uint8_t(in[i + 1])) << 8;
    if (rest > 2)
      n |= uint8_t(in[i + 2]);
    out += tbl[(n >> 18) & 63];
    out += tbl[(n >> 12) & 63];
    out += rest > 1 ? tbl[(n >> 6) & 63] : '=';
    out += rest > 2 ? tbl[n & 63] : '=';
  }
  return "Basic " + out;
}

}  // namespace waymark::it
