// Method + path-pattern routing for the HTTP API (PRODUCT.md §6), and the
// small response/auth helpers every handler uses.
//
// Patterns are literal segments and "{name}" placeholders ("/api/journeys/{id}");
// a placeholder matches exactly one non-empty segment, percent-decoded into
// params[name]. Unknown path -> 404 {"error":"not found"}; known path with
// another method -> 405 with an Allow header. Routes are added before the
// server starts; operator() is then safe to call from any thread.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/server.hpp"

namespace waymark::http {

using Params = std::map<std::string, std::string>;
using RouteHandler = std::function<void(Request&&, const Params& params, Responder)>;

class Router {
public:
  void add(std::string method, std::string pattern, RouteHandler handler);
  void operator()(Request&& req, Responder respond) const;

private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{id}" = placeholder
    RouteHandler handler;
  };
  static std::vector<std::string> split_path(std::string_view path);
  static bool match(const Route& r, const std::vector<std::string>& segments, Params& params);
  std::vector<Route> routes_;
};

/// Body = serialized `v`, content type application/json.
Response json_response(int status, const boost::json::value& v);
/// Body = {"error": message}.
Response error_response(int status, std::string message);

/// "Authorization: Bearer T" -> T.
std::optional<std::string> bearer_token(const Request& req);
/// "Authorization: Basic base64(user:pass)" -> user (Segment's write key).
std::optional<std::string> basic_auth_user(const Request& req);
/// True when `given` equals one of `accepted`. Compares every byte of every
/// candidate (no early exit), so the answer time does not reveal how much of a
/// credential was right.
bool credential_in(std::string_view given, const std::vector<std::string>& accepted);

/// "%41b+c" -> "Ab+c" (no '+' to space: this is for path segments).
/// Invalid escapes are kept as they are.
std::string percent_decode(std::string_view s);

}  // namespace waymark::http
