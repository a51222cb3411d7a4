// The send step (PRODUCT.md §7 "Delivery"): consent, address, template,
// frequency cap and quiet hours, in that order. A suppression is counted and
// traced and the journey continues; quiet hours defer the send with a step
// timer set to the end of the window in the customer's time zone.
#include <absl/time/civil_time.h>
#include <absl/time/time.h>
#include <algorithm>
#include <cctype>
#include <xxhash.h>

#include "journey/engine_internal.hpp"

namespace waymark::engine_detail {

namespace json = boost::json;

namespace {

constexpr Millis sends_horizon_default_ms = 30LL * 86400 * 1000;  // no caps configured
constexpr size_t tz_name_bytes_max = 64;

bool trait_true(const json::object& traits, const std::string& name) {
  auto it = traits.find(name);
  return it != traits.end() && it->value().is_bool() && it->value().get_bool();
}

/// The recipient address, "" when the channel needs none, nullopt when missing.
std::optional<std::string> address_of(const json::object& traits, const ChannelPolicy& p) {
  if (p.address_trait.empty())
    return std::string();
  auto it = traits.find(p.address_trait);
  if (it == traits.end() || !it->value().is_string() || it->value().get_string().empty())
    return std::nullopt;
  return std::string(it->value().get_string());
}

bool frequency_capped(const CustomerState& s, const std::string& channel, const ChannelPolicy& p,
                      Millis now) {
  if (!p.frequency_cap)
    return false;
  const auto [max, per] = *p.frequency_cap;
  const auto n = std::count_if(s.sends.begin(), s.sends.end(), [&](const auto& e) {
    return e.first == channel && e.second > now - per;
  });
  return n >= max;
}

/// Keeps send records only as long as the widest frequency-cap window needs them.
void trim_sends(CustomerState& s, const Catalog& cat, Millis now) {
  Millis horizon = 0;
  for (const auto& [name, p] : cat.channels)
    if (p.frequency_cap)
      horizon = std::max(horizon, p.frequency_cap->second);
  if (horizon == 0)
    horizon = sends_horizon_default_ms;
  s.sends.erase(std::remove_if(s.sends.begin(), s.sends.end(),
                               [&](const auto& e) { return e.second <= now - horizon; }),
                s.sends.end());
}

std::string time_zone_of(const json::object& traits) {
  auto it = traits.find("timezone");
  if (it == traits.end() || !it->value().is_string())
    return "";
  return std::string(it->value().get_string());
}

/// IANA names only: no absolute paths or "..", bounded length.
bool plausible_tz_name(const std::string& name) {
  if (name.empty() || name.size() > tz_name_bytes_max || name[0] == '/' ||
      name.find("..") != std::string::npos)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+';
  });
}

SendOutcome suppress(Run& r, const Instance& inst, const Step& st, const std::string& reason) {
  r.stat(inst.journey, inst.version, st.id, "suppressed:" + reason);
  r.trace(inst.journey, inst.version, st.id, "suppressed: " + reason);
  return SendOutcome::done;
}

void deliver(Run& r, const Instance& inst, const Step& st, std::string to, RenderResult rendered) {
  Delivery d;
  d.id = idempotency_key(r.s.id, inst.id, st.id, inst.visits);
  d.links = std::move(rendered.links);
  d.channel = st.channel;
  d.customer = r.s.id;
  d.journey = inst.journey;
  d.version = inst.version;
  d.key = inst.key;
  d.step = st.id;
  d.template_id = st.template_id;
  d.to = std::move(to);
  d.content = std::move(rendered.content);
  d.at = r.now;
  r.s.sends.emplace_back(st.channel, r.now);
  trim_sends(r.s, r.cat, r.now);
  r.s.deliveries.reserve_bounded(r.cat.limits.deliveries_recent_max);
  r.s.deliveries.push_back(DeliveryRef{d.id, d.channel, d.journey, d.step, d.at});
  while (r.s.deliveries.size() > r.cat.limits.deliveries_recent_max)
    r.s.deliveries.pop_front();
  r.stat(inst.journey, inst.version, st.id, "sent");
  r.trace(inst.journey, inst.version, st.id, "sent " + d.id);
  outcomes::Touch t{d.id, d.customer, d.channel, d.journey, d.version, d.step, d.template_id, "", d.at};
  if (!inst.variants.empty())
    t.variant = inst.variants.back().first + ":" + inst.variants.back().second;
  r.d.touches.push_back(std::move(t));
  r.d.deliveries.push_back(std::move(d));
}

}  // namespace

std::string idempotency_key(const std::string& customer, const std::string& instance,
                            const std::string& step, uint32_t visits) {
  std::string buf = customer;
  buf += '\x1f';
  buf += instance;
  buf += '\x1f';
  buf += step;
  buf += '\x1f';
  buf += std::to_string(visits);
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(buf.data(), buf.size()));
  static const char* hex = "0123456789abcdef";
  std::string out = "d";
  for (unsigned char b : c.digest) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

std::optional<Millis> quiet_hours_end(const QuietHours& q, const std::string& tz_name, Millis now) {
  if (q.start_minute == q.end_minute)
    return std::nullopt;  // an empty window
  absl::TimeZone tz = absl::UTCTimeZone();
  absl::TimeZone loaded;
  if (plausible_tz_name(tz_name) && absl::LoadTimeZone(tz_name, &loaded))
    tz = loaded;
  const absl::CivilSecond local = absl::ToCivilSecond(absl::FromUnixMillis(now), tz);
  const int minute = local.hour() * 60 + local.minute();
  const absl::CivilDay today(local);
  bool inside = false;
  absl::CivilDay end_day = today;
  if (q.start_minute < q.end_minute) {
    inside = minute >= q.start_minute && minute < q.end_minute;
  } else {  // wraps midnight: [start, 24:00) and [00:00, end)
    inside = minute >= q.start_minute || minute < q.end_minute;
    if (minute >= q.start_minute)
      end_day = today + 1;
  }
  if (!inside)
    return std::nullopt;
  const absl::CivilSecond end(end_day.year(), end_day.month(), end_day.day(), q.end_minute / 60,
                              q.end_minute % 60, 0);
  Millis due = absl::ToUnixMillis(absl::FromCivil(end, tz));  // DST gaps map to the transition
  return due > now ? due : now + 60 * 1000;
}

SendOutcome run_send(Run& r, Instance& inst, const Journey& j, const Step& st) {
  auto pit = r.cat.channels.find(st.channel);
  if (pit == r.cat.channels.end())
    return suppress(r, inst, st, "unknown_channel");
  const ChannelPolicy& p = pit->second;
  const json::object& traits = r.s.traits;
  if (trait_true(traits, "unsubscribed") || trait_true(traits, "unsubscribed_" + st.channel))
    return suppress(r, inst, st, "unsubscribed");
  std::optional<std::string> to = address_of(traits, p);
  if (!to)
    return suppress(r, inst, st, "no_address");
  auto tit = r.cat.templates.find(st.template_id);
  if (tit == r.cat.templates.end() || !tit->second)
    return suppress(r, inst, st, "unknown_template");
  RenderContext rc{&traits, &inst.entry, r.event ? &r.event_json() : nullptr,
                   idempotency_key(r.s.id, inst.id, st.id, inst.visits), &r.cat.links};
  RenderResult rendered = render(*tit->second, rc, p.html_escape);
  if (!rendered.ok)
    return suppress(r, inst, st, "missing_variable");
  if (frequency_capped(r.s, st.channel, p, r.now))
    return suppress(r, inst, st, "frequency_cap");
  if (p.quiet_hours) {
    if (auto until = quiet_hours_end(*p.quiet_hours, time_zone_of(traits), r.now)) {
      r.set_step_timer(inst, *until);
      r.stat(inst.journey, inst.version, st.id, "deferred");
      r.trace(inst.journey, inst.version, st.id, "deferred: quiet_hours until " + format_rfc3339(*until));
      return SendOutcome::deferred;
    }
  }
  deliver(r, inst, st, std::move(*to), std::move(rendered));
  return SendOutcome::done;
}

}  // namespace waymark::engine_detail
