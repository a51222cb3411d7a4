// Method + path-pattern routing for the HTTP API (PRODUCT.md §6), and the
// small response/auth helpers every handler uses.
//
// Patterns are literal segments and "{name}" placeholders ("/api/journeys/{id}");
// a placeholder matches exactly one non-empty segment, percent-decoded into
// params[name]. Empty segments are dropped ("//api//x" is "/api/x"). Unknown
// path -> 404 {"error":"not found"}; known path with another method -> 405
// with an Allow header. Routes are added before the server starts;
// operator() is then safe to call from any thread.
//
// Every route declares who may call it (Access), and the router authorises
// the request on the route that matched, before its handler runs: never on
// the spelling of the path (PRODUCT.md §8).
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

/// Who may call a route. The admin API's classes are the role a route needs
/// (PRODUCT.md §11; cumulative: viewer < editor < approver < admin).
enum class Access {
  open,       // anyone (/healthz, /metrics)
  write_key,  // event ingest: a write key from auth.write_keys, when any is set
  viewer,     // admin API, reads: any admin token
  editor,     // admin API: journey drafts and deploys, templates of the caller's teams
  approver,   // admin API: approve, pause, resume, archive
  admin,      // admin API: everything (erase, clock, cluster)
};

/// The admin role a class needs (nullopt for open and write_key).
std::optional<Role> role_needed(Access access);

/// The credentials a node accepts; an empty list accepts anyone.
struct Credentials {
  std::vector<std::string> admin_tokens;  // bare tokens: admins named "admin" (when `admins` is empty)
  std::vector<std::string> write_keys;
  size_t json_depth_max = 64;  // for a write key sent in the body
  std::vector<AdminToken> admins;  // tokens with names, roles, teams (auth.admin_tokens)
};

/// nullopt when `req` may call a route of class `access`, else the refusal:
/// 401 with a WWW-Authenticate header for a missing or wrong credential, 403
/// {"error","role_needed"} for a token whose role is below the route's. On
/// success of an admin class, `caller` (when given) is who called. A write key
/// is the Basic-auth user name, else "writeKey" in a JSON object body
/// (Segment); a body that cannot be read carries no key.
std::optional<Response> authorize(Access access, const Request& req, const Credentials& creds,
                                  Caller* caller = nullptr);

/// 403 {"error": message, "role_needed": role}.
Response forbidden(const std::string& message, Role needed);

class Router {
public:
  /// Called with the matched route's access class; a refusal is answered
  /// instead of calling the handler (and the router's 405). It may set
  /// req.caller for the handler.
  using Authorizer = std::function<std::optional<Response>(Access, Request&)>;

  explicit Router(Authorizer authorizer) : authorizer_(std::move(authorizer)) {}
  void add(std::string method, std::string pattern, Access access, RouteHandler handler);
  void operator()(Request&& req, Responder respond) const;

private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{id}" = placeholder
    Access access;
    RouteHandler handler;
  };
  static std::vector<std::string> split_path(std::string_view path);
  static bool match(const Route& r, const std::vector<std::string>& segments, Params& params);
  Authorizer authorizer_;
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
/// The write key of an ingest request: the Basic-auth user name, else
/// "writeKey" in a JSON object body (parsed at most `json_depth_max` deep).
std::optional<std::string> write_key(const Request& req, size_t json_depth_max);
/// True when `given` equals one of `accepted`. Compares every byte of every
/// candidate (no early exit), so the answer time does not reveal how much of a
/// credential was right.
bool credential_in(std::string_view given, const std::vector<std::string>& accepted);

/// "%41b+c" -> "Ab+c" (no '+' to space: this is for path segments).
/// Invalid escapes are kept as they are.
std::string percent_decode(std::string_view s);

}  // namespace waymark::http
