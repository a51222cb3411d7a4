#include "support/events.hpp"

#include "waymark/json.hpp"

namespace waymark::it {
namespace json = boost::json;

std::string identify(const std::string& user, const json::object& traits, const std::string& message_id) {
  json::object o{{"type", "identify"}, {"userId", user}, {"traits", traits}};
  if (!message_id.empty())
    o["messageId"] = message_id;
  return json::serialize(o);
}

std::string track(const std::string& user, const std::string& event, const json::object& properties,
                  const std::string& message_id) {
  json::object o{{"type", "track"}, {"userId", user}, {"event", event}, {"properties", properties}};
  if (!message_id.empty())
    o["messageId"] = message_id;
  return json::serialize(o);
}

json::value parse_json(const std::string& text) {
  std::error_code ec;
  auto v = parse_stored_json(text, ec);  // the node's own depth allowance
  return ec ? json::value() : v;
}

std::string str_at(const json::value& v, const std::string& key) {
  auto* o = v.if_object();
  auto* e = o ? o->if_contains(key) : nullptr;
  return e && e->is_string() ? std::string(e->get_string()) : std::string();
}

int64_t int_at(const json::value& v, const std::string& key, int64_t fallback) {
  auto* o = v.if_object();
  auto* e = o ? o->if_contains(key) : nullptr;
  if (e && e->is_int64())
    return e->get_int64();
  if (e && e->is_uint64())
    return static_cast<int64_t>(e->get_uint64());
  return fallback;
}

json::array array_at(const json::value& v, const std::string& key) {
  auto* o = v.if_object();
  auto* e = o ? o->if_contains(key) : nullptr;
  return e && e->is_array() ? e->get_array() : json::array();
}

json::value at_path(const json::value& v, const std::string& dotted) {
  const json::value* cur = &v;
  size_t pos = 0;
  while (pos <= dotted.size()) {
    size_t dot = dotted.find('.', pos);
    std::string key = dotted.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    auto* o = cur->if_object();
    cur = o ? o->if_contains(key) : nullptr;
    if (!cur)
      return nullptr;
    if (dot == std::string::npos)
      break;
    pos = dot + 1;
  }
  return *cur;
}

}  // namespace waymark::it
