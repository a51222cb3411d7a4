// A minimal blocking HTTP/1.1 client over POSIX sockets, for integration tests
// only (independent of src/http so a server bug cannot hide in shared code).
// One request per connection ("Connection: close"); Content-Length and chunked
// responses are understood.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace waymark::it {

struct HttpResponse {
  int status = 0;                             // 0 = no response (connect/IO error, timeout)
  std::string error;                          // why status is 0
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;

  /// The body parsed as JSON; null when it is not valid JSON.
  boost::json::value json() const;
  /// "<status> <body>" (or the error), for assertion messages.
  std::string describe() const;
};

struct HttpRequest {
  std::string method = "GET";
  std::string path = "/";
  std::string body;                                          // sent when non-empty or method != GET
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  int timeout_ms = 10000;                                    // whole exchange
};

/// Sends one request to 127.0.0.1:port and reads the whole response.
HttpResponse http_request(uint16_t port, const HttpRequest& req);

/// "Basic base64(user:)": a Segment write key as the Basic-auth user name.
std::string basic_auth(const std::string& user);

}  // namespace waymark::it
