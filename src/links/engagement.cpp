#include "waymark/engagement.hpp"

#include <array>
#include <utility>

#include "waymark/json.hpp"

namespace waymark::engagement {

namespace json = boost::json;

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kTypes{{
    {"opened", "Message Opened"},
    {"clicked", "Message Clicked"},
    {"bounced", "Message Bounced"},
    {"complained", "Message Complained"},
    {"unsubscribed", "Message Unsubscribed"},
    {"delivered", "Message Delivered"},
    {"failed", "Message Failed"},
    {"dead", "Message Dead"},
}};
constexpr size_t kCallbackTypes = 5;  // the first five

std::string string_at(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

Result<DeliveryInfo> delivery_info(std::string_view id, std::string_view record_json) {
  std::error_code ec;
  auto v = parse_stored_json(record_json, ec);
  if (ec || !v.is_object())
    return make_error("bad_record", "delivery record is not a JSON object");
  const auto& o = v.get_object();
  DeliveryInfo d;
  d.id = std::string(id);
  d.customer = string_at(o, "customer");
  d.channel = string_at(o, "channel");
  d.journey = string_at(o, "journey");
  d.step = string_at(o, "step");
  if (auto* ver = o.if_contains("version"); ver && ver->is_int64())
    d.version = static_cast<int>(ver->get_int64());
  if (auto* l = o.if_contains("links"); l && l->is_array())
    for (auto& t : l->get_array())
      d.links.push_back(t.is_string() ? std::string(t.get_string()) : std::string());
  if (d.customer.empty())
    return make_error("bad_record", "delivery record has no customer");
  return d;
}

std::optional<std::string> event_name(std::string_view type) {
  for (auto& [t, name] : kTypes)
    if (t == type)
      return std::string(name);
  return std::nullopt;
}

bool is_callback_type(std::string_view type) {
  for (size_t i = 0; i < kCallbackTypes; ++i)
    if (kTypes[i].first == type)
      return true;
  return false;
}

std::string message_id(std::string_view delivery, std::string_view type) {
  std::string out = "waymark:";
  out += delivery;
  out += ':';
  out += type;
  return out;
}

Event reaction_event(const DeliveryInfo& d, std::string_view type, Millis now, std::optional<size_t> url_index) {
  Event e;
  e.type = EventType::track;
  e.user_id = d.customer;
  e.name = event_name(type).value_or(std::string(type));
  e.message_id = message_id(d.id, type);
  e.timestamp = now;
  e.properties = json::object{{"delivery_id", d.id}, {"journey", d.journey}, {"version", d.version},
                              {"step", d.step}, {"channel", d.channel}};
  if (url_index)
    e.properties["url_index"] = static_cast<int64_t>(*url_index);
  return e;
}

std::optional<StepCount> step_count(const Event& e) {
  if (e.type != EventType::track || e.name.rfind("Message ", 0) != 0)
    return std::nullopt;
  for (size_t i = 0; i < kCallbackTypes; ++i) {
    if (kTypes[i].second != e.name)
      continue;
    const auto& p = e.properties;
    auto* version = p.if_contains("version");
    StepCount c{string_at(p, "journey"), version && version->is_int64() ? static_cast<int>(version->get_int64()) : 0,
                string_at(p, "step"), "engagement:" + std::string(kTypes[i].first)};
    if (c.journey.empty() || c.step.empty() || c.version < 1 || string_at(p, "delivery_id").empty())
      return std::nullopt;
    return c;
  }
  return std::nullopt;
}

}  // namespace waymark::engagement
