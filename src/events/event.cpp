// Segment Spec validation (PRODUCT.md §4). Every rejection is an Error with a
// stable code (counted by the gateways as nack reasons) and a readable message.
#include "waymark/event.hpp"
#include "waymark/json.hpp"

#include <boost/json.hpp>
#include <type_traits>

namespace json = boost::json;

namespace waymark {

const char* to_string(EventType t) {
  switch (t) {
    case EventType::identify: return "identify";
    case EventType::track: return "track";
    case EventType::page: return "page";
    case EventType::screen: return "screen";
    case EventType::group: return "group";
    case EventType::alias: return "alias";
  }
  return "track";
}

namespace {

constexpr size_t id_bytes_max = 255;  // customer ids are LMDB key parts (511 max)

bool parse_type(std::string_view s, EventType& out) {
  static const std::pair<const char*, EventType> table[] = {
    {"identify", EventType::identify}, {"track", EventType::track}, {"page", EventType::page},
    {"screen", EventType::screen},     {"group", EventType::group}, {"alias", EventType::alias}};
  for (auto& [name, t] : table)
    if (s == name) {
      out = t;
      return true;
    }
  return false;
}

// Reads an optional string field; false (with err set) when present but not a string.
bool opt_string(const json::object& o, const char* key, std::string& out, Error& err) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null())
    return true;
  if (!v->is_string()) {
    err = make_error("wrong_type", std::string(key) + " must be a string");
    return false;
  }
  out.assign(v->get_string().data(), v->get_string().size());
  return true;
}

/// Copies the object at `key` out of a const event, moves it out of a mutable
/// one (a parsed line that is thrown away after: no copy of the properties).
template <class Object>
bool opt_object(Object& o, const char* key, json::object& out, Error& err) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null())
    return true;
  if (!v->is_object()) {
    err = make_error("wrong_type", std::string(key) + " must be an object");
    return false;
  }
  if constexpr (std::is_const_v<Object>)
    out = v->get_object();
  else
    out = std::move(v->get_object());
  return true;
}

bool check_id(const std::string& id, const char* name, Error& err) {
  if (id.size() > id_bytes_max) {
    err = make_error("too_large", std::string(name) + " is longer than 255 bytes");
    return false;
  }
  for (unsigned char c : id)
    if (c < 0x20) {
      err = make_error("bad_value", std::string(name) + " contains a control character");
      return false;
    }
  return true;
}

/// `Value` is `const json::value` (objects copied) or `json::value` (moved out).
template <class Value>
Result<Event> build_event(Value& v, Millis received_at, std::string_view default_type) {
  if (!v.is_object())
    return make_error("not_object", "an event must be a JSON object");
  auto& o = v.as_object();
  Event e;
  Error err;
  std::string type;
  if (!opt_string(o, "type", type, err))
    return err;
  if (type.empty())
    type = std::string(default_type);
  if (type.empty())
    return make_error("missing_field", "type is required");
  if (!parse_type(type, e.type))
    return make_error("bad_type", "unknown type '" + type.substr(0, 64) + "'");
  if (!opt_string(o, "userId", e.user_id, err) || !opt_string(o, "anonymousId", e.anonymous_id, err) ||
      !opt_string(o, "messageId", e.message_id, err))
    return err;
  if (e.user_id.empty() && e.anonymous_id.empty())
    return make_error("missing_field", "userId or anonymousId is required");
  if (!check_id(e.user_id, "userId", err) || !check_id(e.anonymous_id, "anonymousId", err))
    return err;
  if (e.message_id.size() > id_bytes_max)
    return make_error("too_large", "messageId is longer than 255 bytes");
  switch (e.type) {
    case EventType::track:
      if (!opt_string(o, "event", e.name, err))
        return err;
      if (e.name.empty())
        return make_error("missing_field", "track requires event");
      break;
    case EventType::page:
    case EventType::screen:
      if (!opt_string(o, "name", e.name, err))
        return err;
      break;
    case EventType::alias:
      if (!opt_string(o, "previousId", e.previous_id, err))
        return err;
      if (e.previous_id.empty() || e.user_id.empty())
        return make_error("missing_field", "alias requires previousId and userId");
      if (!check_id(e.previous_id, "previousId", err))
        return err;
      break;
    default:
      break;
  }
  if (!opt_object(o, "properties", e.properties, err) || !opt_object(o, "traits", e.traits, err) ||
      !opt_object(o, "context", e.context, err))
    return err;
  e.timestamp = received_at;
  if (auto* ts = o.if_contains("timestamp"); ts && !ts->is_null()) {
    if (!ts->is_string())
      return make_error("wrong_type", "timestamp must be an RFC 3339 string");
    auto parsed = parse_rfc3339(std::string_view(ts->get_string().data(), ts->get_string().size()));
    if (!parsed)
      return make_error("bad_value", "timestamp is not an RFC 3339 date-time within years 0001-9999 (as UTC)");
    e.timestamp = *parsed;
  }
  return e;
}

}  // namespace

Result<Event> parse_event(std::string_view text, const Limits& limits, Millis received_at) {
  if (text.size() > limits.event_bytes_max)
    return make_error("too_large", "event is " + std::to_string(text.size()) +
                                     " bytes, over the limit of " +
                                     std::to_string(limits.event_bytes_max));
  auto v = parse_input_json(text, limits.json_depth_max);
  if (!v)
    return v.error();
  return build_event(*v, received_at, {});
}

Result<Event> event_from_json(const json::value& v, Millis received_at, std::string_view default_type) {
  return build_event(v, received_at, default_type);
}

json::object Event::to_json() const {
  json::object o;
  o["type"] = waymark::to_string(type);
  o["name"] = name;
  o["event"] = name;
  if (!user_id.empty())
    o["userId"] = user_id;
  if (!anonymous_id.empty())
    o["anonymousId"] = anonymous_id;
  o["properties"] = properties;
  o["traits"] = traits;
  o["context"] = context;
  o["timestamp"] = format_rfc3339(timestamp);
  if (!message_id.empty())
    o["messageId"] = message_id;
  return o;
}

}  // namespace waymark
