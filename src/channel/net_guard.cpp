#include "channel/net_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <cstring>
#include <initializer_list>

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

uint32_t v4_at(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

std::string dotted(uint32_t a) {
  in_addr in{htonl(a)};
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &in, buf, sizeof buf);
  return buf;
}

/// An IPv6 form that carries an IPv4 address is classified by that address.
std::optional<std::string> embedded_reason(const char* form, uint32_t v4, const std::string& text) {
  if (auto why = v4_reason(v4, dotted(v4)))
    return std::string(form) + " " + text + " of " + *why;
  return std::nullopt;
}

bool starts_with(const uint8_t* b, std::initializer_list<uint8_t> prefix) {
  return std::memcmp(b, prefix.begin(), prefix.size()) == 0;
}

/// The IPv6 forms that embed an IPv4 address (RFC 4291, 6052, 2765, 3056, 4380).
std::optional<std::string> v6_embedded_reason(const uint8_t* b, const std::string& text) {
  const uint8_t* last4 = b + 12;
  if (starts_with(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}))
    return embedded_reason("IPv4-mapped address", v4_at(last4), text);
  if (starts_with(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
    return embedded_reason("IPv4-compatible address", v4_at(last4), text);
  if (starts_with(b, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}))
    return embedded_reason("IPv4-translated address", v4_at(last4), text);
  if (starts_with(b, {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}))
    return embedded_reason("NAT64 address", v4_at(last4), text);
  if (starts_with(b, {0x20, 0x02}))
    return embedded_reason("6to4 address", v4_at(b + 2), text);
  if (starts_with(b, {0x20, 0x01, 0, 0})) {  // Teredo: server, then the client obfuscated (inverted)
    if (auto why = embedded_reason("Teredo address", ~v4_at(last4), text))
      return why;
    return embedded_reason("Teredo address", v4_at(b + 4), text);
  }
  return std::nullopt;
}

std::optional<std::string> v6_reason(const in6_addr& a, const std::string& text) {
  static const uint8_t zero[16] = {};
  const uint8_t* b = a.s6_addr;
  if (std::memcmp(b, zero, 15) == 0 && (b[15] == 1 || b[15] == 0))
    return (b[15] == 1 ? "loopback address " : "unspecified address ") + text;
  if (auto why = v6_embedded_reason(b, text))
    return why;
  // Local-use NAT64 (RFC 8215): the operator's own translator, whatever the IPv4 part.
  if (starts_with(b, {0, 0x64, 0xff, 0x9b, 0, 1}))
    return "local-use NAT64 address " + text;
  if ((b[0] & 0xfe) == 0xfc)
    return "private (ULA) address " + text;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
    return "link-local address " + text;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
    return "site-local address " + text;
  if (b[0] == 0xff)
    return "multicast address " + text;
  return std::nullopt;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/// "%31%32%37.0.0.1" -> "127.0.0.1" (libcurl decodes a percent-encoded host).
std::string percent_decoded(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int hi = s[i] == '%' && i + 2 < s.size() ? hex_digit(s[i + 1]) : -1;
    int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
    if (lo < 0) {
      out += s[i];
      continue;
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

std::optional<std::string> private_ip_reason(const std::string& ip) {
  in6_addr a6{};
  std::string v6 = ip.substr(0, ip.find('%'));  // "fe80::1%eth0": the zone does not change the class
  if (inet_pton(AF_INET6, v6.c_str(), &a6) == 1)
    return v6_reason(a6, ip);
  // inet_aton, as the resolver and libcurl read it: "127.1", "0x7f000001", "2130706433", "0177.0.0.1".
  in_addr a4{};
  if (inet_aton(ip.c_str(), &a4) == 1)
    return v4_reason(ntohl(a4.s_addr), ip);
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
  for (char ch : percent_decoded(host))
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower.size() > 1 && lower.back() == '.')  // "localhost." and "127.0.0.1." name the same host
    lower.pop_back();
  if (lower == "localhost" || (lower.size() > 10 && lower.compare(lower.size() - 10, 10, ".localhost") == 0))
    return "loopback host " + host;
  if (auto why = private_ip_reason(lower))
    return *why + (lower == host ? "" : " (" + host + ")");
  return std::nullopt;
}

}  // namespace waymark
