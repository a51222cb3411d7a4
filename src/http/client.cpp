// Synchronous HTTP client: async Beast operations driven by a private
// io_context on the calling thread, so the deadline covers every step.
#include "http/client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace waymark::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// Runs one exchange; every completion handler stores its error in `ec`.
struct Exchange {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> req;
  bhttp::response_parser<bhttp::string_body> parser;
  error_code ec;
  const char* stage = "connect";

  void run(const tcp::resolver::results_type& endpoints, std::chrono::milliseconds timeout) {
    parser.body_limit(boost::none);
    stream.expires_after(timeout);
    stream.async_connect(endpoints, [this](error_code e, const tcp::endpoint&) {
      if (e) return fail(e);
      stage = "write";
      bhttp::async_write(stream, req, [this](error_code e, size_t) {
        if (e) return fail(e);
        stage = "read";
        bhttp::async_read(stream, buffer, parser, [this](error_code e, size_t) {
          if (e) fail(e);
        });
      });
    });
    ioc.run();
  }
  void fail(error_code e) { ec = e; }
};

Response to_response(bhttp::response<bhttp::string_body>&& res) {
  Response out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[bhttp::field::content_type]);
  for (const auto& f : res) {
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  out.body = std::move(res.body());
  return out;
}

}  // namespace

Result<Response> request(const std::string& host, uint16_t port, const std::string& method,
                         const std::string& target, const std::string& body,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         std::chrono::milliseconds timeout) {
  try {
    Exchange x;
    tcp::resolver resolver(x.ioc);
    error_code ec;
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return make_error("connect_failed", "cannot resolve " + host + ": " + ec.message());
    x.req.method_string(method);
    x.req.target(target);
    x.req.version(11);
    x.req.set(bhttp::field::host, host + ":" + std::to_string(port));
    x.req.set(bhttp::field::user_agent, "waymark-cli");
    bool has_type = false;
    for (const auto& [name, value] : headers) {
      x.req.set(name, value);
      if (beast::iequals(name, "content-type")) has_type = true;
    }
    if (!body.empty() && !has_type) x.req.set(bhttp::field::content_type, "application/json");
    x.req.keep_alive(false);
    x.req.body() = body;
    x.req.prepare_payload();
    x.run(endpoints, timeout);
    if (x.ec == beast::error::timeout) {
      return make_error("timeout", "timed out (" + std::string(x.stage) + ") talking to " + host +
                                       ":" + std::to_string(port));
    }
    if (x.ec) {
      std::string code = std::string(x.stage) == "connect" ? "connect_failed" : "io_error";
      return make_error(code, std::string(x.stage) + " " + host + ":" + std::to_string(port) +
                                  ": " + x.ec.message());
    }
    return to_response(x.parser.release());
  } catch (const std::exception& e) {
    return make_error("io_error", e.what());
  }
}

Result<std::pair<std::string, uint16_t>> parse_url(const std::string& url) {
  std::string rest = url;
  auto scheme = rest.find("://");
  if (scheme != std::string::npos) {
    std::string s = rest.substr(0, scheme);
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s != "http") return make_error("bad_url", "unsupported scheme in '" + url + "' (use http://)");
    rest = rest.substr(scheme + 3);
  }
  rest = rest.substr(0, rest.find_first_of("/?#"));
  std::string host;
  std::string port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return make_error("bad_url", "bad IPv6 host in '" + url + "'");
    host = rest.substr(1, close - 1);
    auto after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':') return make_error("bad_url", "bad URL '" + url + "'");
    if (!after.empty()) port_text = after.substr(1);
  } else {
    auto colon = rest.rfind(':');
    host = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  if (host.empty()) return make_error("bad_url", "no host in '" + url + "'");
  if (port_text.empty()) return std::make_pair(host, uint16_t{80});
  unsigned long port = 0;
  for (char c : port_text) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || port > 65535) {
      return make_error("bad_url", "bad port in '" + url + "'");
    }
    port = port * 10 + static_cast<unsigned long>(c - '0');
  }
  if (port == 0 || port > 65535) return make_error("bad_url", "bad port in '" + url + "'");
  return std::make_pair(host, static_cast<uint16_t>(port));
}

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace waymark::http
