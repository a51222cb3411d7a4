// Tracked links (PRODUCT.md §10 "Engagement feedback"): a template's
// {{link "https://…"}} renders as <public_url>/r/<delivery id>/<n>/<sig>,
// where sig authenticates (delivery id, n, target URL) with a node key. The
// redirect looks the target up in the delivery's record and answers only when
// the signature matches it, so a link can never point anywhere the template
// did not name.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "waymark/result.hpp"

namespace waymark {

/// What rendering a tracked link needs: where the node answers, and the key.
struct LinkKeys {
  std::string public_url;  // "http://127.0.0.1:7480", no trailing '/'
  std::string key;         // HMAC key (raw bytes); empty = links render unsigned targets (preview)
};

namespace links {

inline constexpr size_t kTargetBytesMax = 2048;
inline constexpr size_t kSignatureChars = 22;  // 16 bytes of HMAC-SHA256, base64url, no padding

/// base64url (RFC 4648 §5) without padding.
std::string base64url(std::string_view bytes);

/// HMAC-SHA256 over "<delivery>\x1f<n>\x1f<target>", first 16 bytes, base64url.
std::string signature(std::string_view key, std::string_view delivery, size_t n, std::string_view target);

/// True when `sig` is the signature of (delivery, n, target); compared in constant time.
bool verify(std::string_view key, std::string_view delivery, size_t n, std::string_view target,
            std::string_view sig);

/// "<public_url>/r/<delivery>/<n>/<sig>".
std::string tracked_url(const LinkKeys& keys, std::string_view delivery, size_t n, std::string_view target);

/// Why `url` cannot be a link target (an absolute http(s) URL with a host, no
/// spaces, quotes, angle brackets or control characters, at most
/// kTargetBytesMax bytes); nullopt when it can.
std::optional<std::string> target_problem(std::string_view url);

/// http.public_url as configured: an absolute http(s) URL with a host and no
/// query or fragment; a trailing '/' is dropped.
Result<std::string> normalize_public_url(std::string_view url);

/// The default public URL for an HTTP listener bound to host:port ("0.0.0.0"
/// and "::" become the loopback address, IPv6 hosts are bracketed).
std::string public_url_for(std::string_view host, unsigned port);

/// The node's link key when http.link_secret is not set: <data_dir>/link_secret
/// (32 random bytes, hex, mode 0600), created once and read on later starts.
Result<std::string> load_or_create_key(const std::string& data_dir);

}  // namespace links
}  // namespace waymark
