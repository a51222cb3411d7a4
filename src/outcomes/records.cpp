#include "waymark/outcomes/records.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>

#include "waymark/json.hpp"
#include "waymark/time.hpp"

namespace waymark::outcomes {

namespace json = boost::json;

namespace {

/// Appends `s` as a JSON string (quotes, backslash and control characters escaped).
void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
      out.push_back('\\');
      out.push_back(c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f');
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

void append_field(std::string& out, const char* name, std::string_view value) {
  out.append(out.size() > 1 ? ",\"" : "\"").append(name).append("\":");
  append_string(out, value);
}

}  // namespace

// Written without a DOM (one per send or conversion, in the commit path).
std::string touch_json(const Touch& t) {
  std::string out = "{";
  out.reserve(256);
  append_field(out, "delivery_id", t.delivery_id);
  append_field(out, "customer", t.customer);
  append_field(out, "channel", t.channel);
  append_field(out, "journey", t.journey);
  out.append(",\"version\":").append(std::to_string(t.version));
  append_field(out, "step", t.step);
  append_field(out, "template", t.template_id);
  append_field(out, "variant", t.variant);
  append_field(out, "at", format_rfc3339(t.at));
  out.push_back('}');
  return out;
}

std::string conversion_json(const Conversion& c) {
  std::string out = "{";
  append_field(out, "customer", c.customer);
  append_field(out, "event", c.event);
  out.append(",\"value\":").append(json::serialize(json::value(std::isfinite(c.value) ? c.value : 0.0)));
  append_field(out, "at", format_rfc3339(c.at));
  out.push_back('}');
  return out;
}

namespace {

struct Fields {
  const json::object* o = nullptr;
  bool ok = true;
  std::string str(const char* k) {
    auto* v = o->if_contains(k);
    if (!v || !v->is_string()) {
      ok = false;
      return {};
    }
    return std::string(v->get_string());
  }
  Millis at() {
    auto t = parse_rfc3339(str("at"));
    ok = ok && t.has_value();
    return t.value_or(0);
  }
};

Result<Fields> object_of(std::string_view text, json::value& holder) {
  std::error_code ec;
  holder = parse_stored_json(text, ec);
  if (ec || !holder.is_object())
    return make_error("bad_record", "unreadable outcome record");
  return Fields{&holder.get_object()};
}

}  // namespace

Result<Touch> touch_from_json(std::string_view text) {
  json::value holder;
  auto f = object_of(text, holder);
  if (!f)
    return f.error();
  Touch t;
  t.delivery_id = f->str("delivery_id");
  t.customer = f->str("customer");
  t.channel = f->str("channel");
  t.journey = f->str("journey");
  t.step = f->str("step");
  t.template_id = f->str("template");
  t.variant = f->str("variant");
  t.at = f->at();
  auto* v = f->o->if_contains("version");
  t.version = v && v->is_int64() ? static_cast<int>(v->get_int64()) : 0;
  if (!f->ok)
    return make_error("bad_record", "touch record with a missing field");
  return t;
}

Result<Conversion> conversion_from_json(std::string_view text) {
  json::value holder;
  auto f = object_of(text, holder);
  if (!f)
    return f.error();
  Conversion c;
  c.customer = f->str("customer");
  c.event = f->str("event");
  c.at = f->at();
  auto* v = f->o->if_contains("value");
  c.value = v && v->is_number() ? v->to_number<double>() : 0;
  if (!f->ok)
    return make_error("bad_record", "conversion record with a missing field");
  return c;
}

int64_t to_micros(double value) {
  if (!std::isfinite(value))
    return 0;
  return std::llround(std::clamp(value, -9e12, 9e12) * 1e6);
}

double from_micros(int64_t micros) { return static_cast<double>(micros) / 1e6; }

std::string clv_params_json(const ClvParams& p) {
  return json::serialize(json::object{{"r", p.purchases.r},
                                      {"alpha", p.purchases.alpha},
                                      {"a", p.purchases.a},
                                      {"b", p.purchases.b},
                                      {"p", p.spend.p},
                                      {"q", p.spend.q},
                                      {"gamma", p.spend.gamma}});
}

Result<ClvParams> clv_params_from_json(std::string_view text) {
  json::value holder;
  auto f = object_of(text, holder);
  if (!f)
    return f.error();
  ClvParams p;
  std::pair<const char*, double*> fields[] = {{"r", &p.purchases.r}, {"alpha", &p.purchases.alpha},
                                              {"a", &p.purchases.a}, {"b", &p.purchases.b},
                                              {"p", &p.spend.p},     {"q", &p.spend.q},
                                              {"gamma", &p.spend.gamma}};
  for (auto& [name, out] : fields) {
    auto* v = f->o->if_contains(name);
    if (!v || !v->is_number() || !(v->to_number<double>() > 0))
      return make_error("bad_record", std::string("CLV parameter ") + name + " missing or not positive");
    *out = v->to_number<double>();
  }
  return p;
}

}  // namespace waymark::outcomes
