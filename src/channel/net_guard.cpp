#include "channel/net_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <cstring>

namespace waymark {

namespace {

std::optional<std::string> v4_reason(uint32_t a, const std::string& text) {
  auto in = [&](uint32_t net, int bits) { return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits)); };
  if (in(0x7F000000, 8))
    return "loopback address " + text;
  if (in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16))
    return "private address " + text;
  if (in(0xA9FE0000, 16))
    return "link-local address " + text;
  if (in(0x64400000, 10))
    return "shared (CGNAT) address " + text;
  if (in(0x00000000, 8) || in(0xE0000000, 4) || in(0xF0000000, 4))
    return "non-unicast address " + text;
  return std::nullopt;
}

std::optional<std::string> v6_reason(const in6_addr& a, const std::string& text) {
  static const uint8_t zero[16] = {};
  const uint8_t* b = a.s6_addr;
  if (std::memcmp(b, zero, 15) == 0 && (b[15] == 1 || b[15] == 0))
    return (b[15] == 1 ? "loopback address " : "unspecified address ") + text;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b, mapped, 12) == 0)
    return v4_reason((uint32_t(b[12]) << 24) | (uint32_t(b[13]) << 16) | (uint32_t(b[14]) << 8) | b[15], text);
  if ((b[0] & 0xfe) == 0xfc)
    return "private (ULA) address " + text;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
    return "link-local address " + text;
  if (b[0] == 0xff)
    return "multicast address " + text;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> private_ip_reason(const std::string& ip) {
  in_addr a4{};
  if (inet_pton(AF_INET, ip.c_str(), &a4) == 1)
    return v4_reason(ntohl(a4.s_addr), ip);
  in6_addr a6{};
  if (inet_pton(AF_INET6, ip.c_str(), &a6) == 1)
    return v6_reason(a6, ip);
  return std::nullopt;
}

std::optional<std::string> private_sockaddr_reason(const sockaddr* addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
    return v4_reason(ntohl(s->sin_addr.s_addr), buf);
  }
  if (addr->sa_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(addr);
    inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
    return v6_reason(s->sin6_addr, buf);
  }
  return std::string("non-IP address family");
}

std::string url_host(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos)
    return "";
  auto start = scheme + 3;
  auto end = url.find_first_of("/?#", start);
  std::string auth = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (auto at = auth.rfind('@'); at != std::string::npos)
    auth = auth.substr(at + 1);
  if (!auth.empty() && auth[0] == '[') {
    auto close = auth.find(']');
    return close == std::string::npos ? "" : auth.substr(1, close - 1);
  }
  return auth.substr(0, auth.find(':'));
}

std::optional<std::string> literal_private_destination(const std::string& url) {
  std::string host = url_host(url);
  if (host.empty())
    return std::string("a URL with no host");
  std::string lower;
  for (char ch : host)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "localhost" || (lower.size() > 10 && lower.compare(lower.size() - 10, 10, ".localhost") == 0))
    return "loopback host " + host;
  return private_ip_reason(host);
}

}  // namespace waymark
