// Router and response/auth helpers (see router.hpp).
#include "http/router.hpp"

#include "waymark/json.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace waymark::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_placeholder(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

std::optional<std::string> header(const Request& req, const char* name) {
  auto it = req.headers.find(name);
  if (it == req.headers.end()) return std::nullopt;
  return it->second;
}

// Strips a case-insensitive auth scheme ("Bearer ", "Basic ") from a header value.
std::optional<std::string> after_scheme(const std::string& value, std::string_view scheme) {
  if (value.size() <= scheme.size()) return std::nullopt;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i]) return std::nullopt;
  }
  if (value[scheme.size()] != ' ') return std::nullopt;
  auto rest = value.substr(scheme.size() + 1);
  auto first = rest.find_first_not_of(' ');
  if (first == std::string::npos) return std::nullopt;
  auto last = rest.find_last_not_of(' ');
  return rest.substr(first, last - first + 1);
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::optional<std::string> base64_decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = base64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> Router::split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    auto slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > i) out.emplace_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return out;
}

void Router::add(std::string method, std::string pattern, Access access, RouteHandler handler) {
  routes_.push_back(Route{std::move(method), split_path(pattern), access, std::move(handler)});
}

bool Router::match(const Route& r, const std::vector<std::string>& segments, Params& params) {
  if (r.segments.size() != segments.size()) return false;
  Params found;
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& want = r.segments[i];
    if (is_placeholder(want)) {
      found[want.substr(1, want.size() - 2)] = percent_decode(segments[i]);
    } else if (want != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

void Router::operator()(Request&& req, Responder respond) const {
  auto segments = split_path(req.path);
  std::set<std::string> allowed;
  const Route* other_method = nullptr;
  for (const auto& route : routes_) {
    Params params;
    if (!match(route, segments, params)) continue;
    if (route.method == req.method) {
      if (auto refusal = authorizer_(route.access, req)) return respond(std::move(*refusal));
      return route.handler(std::move(req), params, std::move(respond));
    }
    if (!other_method) other_method = &route;
    allowed.insert(route.method);
  }
  if (!other_method) return respond(error_response(404, "not found"));
  // The path exists with other methods: say so only to who may call it (any
  // admin token for an admin path: the Allow header tells no more than that).
  Access probe = role_needed(other_method->access) ? Access::viewer : other_method->access;
  if (auto refusal = authorizer_(probe, req)) return respond(std::move(*refusal));
  std::string allow;
  for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  auto res = error_response(405, "method not allowed");
  res.headers.emplace_back("Allow", allow);
  respond(std::move(res));
}

Response json_response(int status, const boost::json::value& v) {
  Response r;
  r.status = status;
  r.body = boost::json::serialize(v);
  return r;
}

Response error_response(int status, std::string message) {
  return json_response(status, boost::json::object{{"error", std::move(message)}});
}

std::optional<std::string> bearer_token(const Request& req) {
  auto value = header(req, "authorization");
  if (!value) return std::nullopt;
  return after_scheme(*value, "bearer");
}

std::optional<std::string> basic_auth_user(const Request& req) {
  auto value = header(req, "authorization");
  if (!value) return std::nullopt;
  auto encoded = after_scheme(*value, "basic");
  if (!encoded) return std::nullopt;
  auto decoded = base64_decode(*encoded);
  if (!decoded) return std::nullopt;
  return decoded->substr(0, decoded->find(':'));
}

bool credential_in(std::string_view given, const std::vector<std::string>& accepted) {
  bool found = false;
  for (const auto& candidate : accepted) {
    unsigned diff = given.size() == candidate.size() && !candidate.empty() ? 0u : 1u;
    for (size_t i = 0; i < given.size(); ++i)
      diff |= static_cast<unsigned char>(given[i]) ^
              static_cast<unsigned char>(candidate.empty() ? 0 : candidate[i % candidate.size()]);
    found |= diff == 0;
  }
  return found;
}

std::optional<Role> role_needed(Access access) {
  switch (access) {
    case Access::viewer: return Role::viewer;
    case Access::editor: return Role::editor;
    case Access::approver: return Role::approver;
    case Access::admin: return Role::admin;
    default: return std::nullopt;
  }
}

Response forbidden(const std::string& message, Role needed) {
  return json_response(403, boost::json::object{{"error", message}, {"role_needed", to_string(needed)}});
}

namespace {

/// Who a bearer token stands for: `admins`, else the bare tokens as admins.
std::optional<Caller> admin_caller(const Request& req, const Credentials& creds) {
  auto t = bearer_token(req);
  if (!t) return std::nullopt;
  if (!creds.admins.empty()) return caller_for(*t, creds.admins);
  if (credential_in(*t, creds.admin_tokens)) return Caller{"admin", Role::admin, {}};
  return std::nullopt;
}

}  // namespace

std::optional<Response> authorize(Access access, const Request& req, const Credentials& creds, Caller* caller) {
  auto refuse = [](const char* message, const char* challenge) {
    auto r = error_response(401, message);
    r.headers.emplace_back("WWW-Authenticate", challenge);
    return std::optional<Response>(std::move(r));
  };
  if (auto needed = role_needed(access)) {
    Caller who;  // no tokens (loopback only): anonymous, an admin
    if (!creds.admins.empty() || !creds.admin_tokens.empty()) {
      auto found = admin_caller(req, creds);
      if (!found) return refuse("missing or wrong bearer token", "Bearer");
      who = std::move(*found);
    }
    if (!has_role(who, *needed))
      return forbidden("'" + who.name + "' is " + to_string(who.role) + "; this needs the " + to_string(*needed) +
                         " role",
                       *needed);
    if (caller) *caller = std::move(who);
    return std::nullopt;
  }
  switch (access) {
    case Access::open:
      return std::nullopt;
    case Access::write_key: {
      if (creds.write_keys.empty()) return std::nullopt;
      auto key = write_key(req, creds.json_depth_max);
      if (key && credential_in(*key, creds.write_keys)) return std::nullopt;
      return refuse("missing or unknown write key", "Basic realm=\"waymark ingest\"");
    }
    default:
      break;
  }
  return refuse("unknown access class", "Bearer");
}

std::optional<std::string> write_key(const Request& req, size_t json_depth_max) {
  if (auto user = basic_auth_user(req); user && !user->empty()) return user;
  auto body = parse_input_json(req.body, json_depth_max);
  if (!body || !body->is_object()) return std::nullopt;
  auto* k = body->get_object().if_contains("writeKey");
  if (!k || !k->is_string()) return std::nullopt;
  return std::string(k->get_string());
}

}  // namespace waymark::http
