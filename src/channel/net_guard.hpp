// Destination guard for outbound providers (PRODUCT.md §3): a webhook must not
// reach private, loopback or link-local addresses unless its channel sets
// "allow_private": true (server-side request forgery). Pure functions, no I/O.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>

namespace waymark {

/// Why an IP address is not public ("loopback address 127.0.0.1", ...), or
/// nullopt when it is a public unicast address. Accepts IPv6 text (a zone
/// "%eth0" is ignored) and IPv4 text as inet_aton reads it, as the resolver
/// and libcurl do ("127.1", "0x7f000001", "2130706433", "0177.0.0.1").
/// IPv6 forms that embed an IPv4 address (mapped, compatible, translated,
/// NAT64 64:ff9b::/96, 6to4, Teredo) are classified by that address;
/// local-use NAT64 64:ff9b:1::/48 and site-local fec0::/10 are private.
std::optional<std::string> private_ip_reason(const std::string& ip);
/// Same for a socket address (what libcurl is about to connect to).
std::optional<std::string> private_sockaddr_reason(const sockaddr* addr);
/// The host part of an http(s) URL ("[::1]" -> "::1"); "" when malformed.
std::string url_host(const std::string& url);
/// Checks a URL without resolving names: a literal private IP or "localhost"
/// gives the reason (the host percent-decoded, one trailing dot dropped);
/// names that need DNS are checked at connect time.
std::optional<std::string> literal_private_destination(const std::string& url);

}  // namespace waymark
