#include "waymark/json.hpp"

#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <cmath>
#include <string>
#include <vector>

namespace waymark {

namespace json = boost::json;

namespace {

json::value parse_with_depth(std::string_view text, size_t depth, std::error_code& ec) {
  json::parse_options opts;
  opts.max_depth = depth;
  return json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
}

/// True when a \uD800-\uDFFF escape ends where Boost.JSON stopped (`at`):
/// right before it, or one escape later ("\ud800\u0041" stops inside the second).
bool lone_surrogate_before(std::string_view text, size_t at) {
  for (size_t back : {6, 7, 8}) {
    if (at < back || at - back + 6 > text.size())
      continue;
    const std::string_view esc = text.substr(at - back, 4);
    if (esc[0] == '\\' && esc[1] == 'u' && (esc[2] == 'd' || esc[2] == 'D') &&
        std::string_view("89abcdefABCDEF").find(esc[3]) != std::string_view::npos)
      return true;
  }
  return false;
}

/// "invalid JSON at byte N: why" (the error path only: parses again to find N).
/// A lone UTF-16 surrogate escape ("\ud800") is named: Boost.JSON calls it a
/// syntax error.
std::string syntax_error_message(std::string_view text, size_t depth, std::error_code ec) {
  json::parse_options opts;
  opts.max_depth = depth;
  json::parser p({}, opts);
  std::error_code again;
  const size_t at = p.write(text.data(), text.size(), again);
  return "invalid JSON at byte " + std::to_string(at) + ": " +
         (lone_surrogate_before(text, at) ? std::string("lone UTF-16 surrogate escape") : ec.message());
}

/// One level of the walk: a container and the next child to visit.
struct Frame {
  const json::value* v;
  size_t next = 0;
};

/// "properties.n" / "a[2]" for the frames on the stack (the error path only).
std::string path_of(const std::vector<Frame>& stack) {
  std::string path;
  for (const auto& f : stack) {
    const size_t i = f.next - 1;
    if (f.v->is_array()) {
      path += "[" + std::to_string(i) + "]";
    } else {
      const auto& key = (f.v->get_object().begin() + i)->key();
      path += (path.empty() ? "" : ".") + std::string(key.data(), key.size());
    }
  }
  return path.empty() ? "(the document)" : path;
}

/// The next child of the top frame, or nullptr when it has none left.
const json::value* next_child(Frame& f) {
  if (f.v->is_array()) {
    const auto& a = f.v->get_array();
    return f.next < a.size() ? &a[f.next++] : nullptr;
  }
  const auto& o = f.v->get_object();
  return f.next < o.size() ? &(o.begin() + f.next++)->value() : nullptr;
}

bool is_container(const json::value& v) { return v.is_array() || v.is_object(); }

}  // namespace

Result<bool> check_storable(const json::value& root) {
  // Iterative: the depth is bounded by the parser, but not for values built
  // in code, and the stack stays off the call stack either way.
  std::vector<Frame> stack;
  const json::value* v = &root;
  for (;;) {
    if (v->is_double() && !std::isfinite(v->get_double()))
      return make_error("bad_number", path_of(stack) + ": number outside the double range (about ±1.8e308)");
    if (is_container(*v)) {
      stack.push_back(Frame{v});
    }
    v = nullptr;
    while (!stack.empty() && !(v = next_child(stack.back())))
      stack.pop_back();
    if (!v)
      return true;
  }
}

json::value parse_stored_json(std::string_view text, std::error_code& ec) {
  return parse_with_depth(text, kStoredJsonDepthMax, ec);
}

Result<json::value> parse_input_json(std::string_view text, size_t depth_max) {
  // The parser keeps its own depth count and stops at the limit: no pre-scan.
  std::error_code ec;
  auto v = parse_with_depth(text, depth_max, ec);
  if (ec == json::error::too_deep)
    return make_error("too_deep", "JSON nesting deeper than " + std::to_string(depth_max));
  if (ec)
    return make_error("bad_json", syntax_error_message(text, depth_max, ec));
  if (auto ok = check_storable(v); !ok)
    return ok.error();
  return v;
}

}  // namespace waymark
