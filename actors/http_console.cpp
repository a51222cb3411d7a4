#include "actors/http_console.hpp"

#include <algorithm>

#include "actors/console_assets.hpp"

namespace waymark {

namespace {

using http::Access;
using http::Params;
using http::Request;
using http::Responder;
using http::Response;

const ConsoleAsset* find_asset(std::string_view name) {
  auto& all = console_assets();
  auto it = std::find_if(all.begin(), all.end(), [&](const ConsoleAsset& a) { return a.name == name; });
  return it == all.end() ? nullptr : &*it;
}

/// True when If-None-Match names `etag` (a list, or "*").
bool not_modified(const Request& req, std::string_view etag) {
  auto it = req.headers.find("if-none-match");
  if (it == req.headers.end())
    return false;
  const std::string& v = it->second;
  return v.find(etag) != std::string::npos || v == "*";
}

/// The file, or 304 when the browser holds this version. Cache-Control
/// no-cache: the browser revalidates each time (names carry no hash), so a
/// new binary's console is seen at the next load.
Response serve(const ConsoleAsset& a, const Request& req) {
  Response r;
  r.headers = console_security_headers();
  r.headers.emplace_back("ETag", std::string(a.etag));
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (not_modified(req, a.etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = std::string(a.content_type);
  r.body.assign(reinterpret_cast<const char*>(a.data), a.size);
  return r;
}

Response missing(const std::string& name) {
  auto r = http::error_response(404, "no console file '" + name + "'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& console_security_headers() {
  static const std::vector<std::pair<std::string, std::string>> headers{
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
     "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
  };
  return headers;
}

void add_console_routes(http::Router& router) {
  router.add("GET", "/", Access::open, [](Request&& req, const Params&, Responder respond) {
    const auto* index = find_asset("index.html");
    respond(index ? serve(*index, req) : missing("index.html"));
  });
  router.add("GET", "/console/{file}", Access::open, [](Request&& req, const Params& p, Responder respond) {
    const auto& name = p.at("file");
    const auto* a = find_asset(name);
    respond(a ? serve(*a, req) : missing(name));
  });
}

}  // namespace waymark
