// A small synchronous HTTP/1.1 client for the CLI and tests (one request per
// connection, Connection: close). Blocks the calling thread; the whole
// exchange (connect, write, read) is bounded by `timeout`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/server.hpp"
#include "waymark/result.hpp"

namespace waymark::http {

/// Sends one request and reads the whole response. Response::headers holds
/// every response header (names as sent); content_type is copied out.
/// Errors: "connect_failed", "timeout", "io_error".
Result<Response> request(const std::string& host, uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body = "",
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// "http://127.0.0.1:7480" -> {"127.0.0.1", 7480}; "http://[::1]:7480/x" -> {"::1", 7480};
/// "localhost:7480" (no scheme) also works; no port -> 80. https is refused.
Result<std::pair<std::string, uint16_t>> parse_url(const std::string& url);

/// Percent-encodes everything but unreserved characters (for a path segment).
std::string percent_encode(std::string_view s);

}  // namespace waymark::http
