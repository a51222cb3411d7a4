#include "waymark/json.hpp"

#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <string>

namespace waymark {

namespace json = boost::json;

namespace {

json::value parse_with_depth(std::string_view text, size_t depth, std::error_code& ec) {
  json::parse_options opts;
  opts.max_depth = depth;
  return json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
}

}  // namespace

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
    return make_error("bad_json", "invalid JSON: " + ec.message());
  return v;
}

}  // namespace waymark
