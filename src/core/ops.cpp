#include "waymark/ops.hpp"

#include <set>

#include "waymark/json.hpp"

namespace json = boost::json;

namespace waymark {

json::object version_record(const std::string& author, Millis created_at) {
  return json::object{{"author", author}, {"created_at", format_rfc3339(created_at)}};
}

std::string version_status(int v, int live, const json::object& record) {
  if (v == live)
    return "live";
  const bool went_live = record.empty() || record.contains("live_at");
  if (v < live)
    return went_live ? "superseded" : "passed_over";
  return "draft";
}

namespace {

const json::object& steps_of(const json::object& j) {
  static const json::object none;
  auto* s = j.if_contains("steps");
  return s && s->is_object() ? s->get_object() : none;
}

}  // namespace

json::object step_diff(const json::object& from, const json::object& to) {
  const auto& a = steps_of(from);
  const auto& b = steps_of(to);
  std::set<std::string> added, removed, changed, fields;
  for (auto& kv : b) {
    auto* old = a.if_contains(kv.key());
    if (!old)
      added.insert(std::string(kv.key()));
    else if (*old != kv.value())
      changed.insert(std::string(kv.key()));
  }
  for (auto& kv : a)
    if (!b.contains(kv.key()))
      removed.insert(std::string(kv.key()));
  for (const auto* side : {&from, &to})
    for (auto& kv : *side) {
      if (kv.key() == "steps")
        continue;
      auto* x = from.if_contains(kv.key());
      auto* y = to.if_contains(kv.key());
      if (!x || !y || *x != *y)
        fields.insert(std::string(kv.key()));
    }
  auto arr = [](const std::set<std::string>& s) { return json::value_from(s); };
  return json::object{{"added", arr(added)}, {"removed", arr(removed)}, {"changed", arr(changed)},
                      {"fields_changed", arr(fields)}};
}

std::optional<Refusal> approval_problem(const JourneyEntry& entry, int v, const json::object& record,
                                        const Caller& who) {
  if (!entry.version(v))
    return Refusal{404, "no version " + std::to_string(v)};
  const int live = entry.live_version();
  if (v == live)
    return Refusal{409, "version " + std::to_string(v) + " is already live"};
  if (v < live)
    return Refusal{409, "version " + std::to_string(v) + " is older than the live version " + std::to_string(live) +
                          "; deploy it again to make a new draft"};
  auto* author = record.if_contains("author");
  std::string by = author && author->is_string() ? std::string(author->get_string()) : std::string();
  if (auto why = approval_refusal(who, by); !why.empty())
    return Refusal{403, why};
  return std::nullopt;
}

AuditPut audit_entry(Millis at, const Caller& who, const std::string& action, const std::string& object,
                     json::value before, json::value after) {
  json::object e{{"at", format_rfc3339(at)},   {"who", who.name},          {"role", to_string(who.role)},
                 {"action", action},           {"object", object},         {"before", std::move(before)},
                 {"after", std::move(after)}};
  return AuditPut{at, json::serialize(e)};
}

Caller seed_caller() { return Caller{std::string(kSeedName), Role::admin, {}}; }

void record_seed(Batch& b, Millis now) {
  for (auto& [id, source] : b.templates) {
    std::error_code ec;
    auto v = parse_stored_json(source, ec);
    b.audit.push_back(audit_entry(now, seed_caller(), "template", "template:" + id, nullptr, ec ? json::value() : v));
  }
  for (auto& j : b.journeys) {
    auto record = version_record(std::string(kSeedName), now);
    record["live_at"] = format_rfc3339(now);
    j.info = json::serialize(record);
    j.live = j.version;
    b.audit.push_back(audit_entry(now, seed_caller(), "deploy", "journey:" + j.id, nullptr, j.version));
  }
}

Result<AuditQuery> parse_audit_query(const std::map<std::string, std::string>& query) {
  AuditQuery q;
  for (auto& [key, value] : query) {
    if (key == "from" || key == "to") {
      auto t = parse_rfc3339(value);
      if (!t)
        return make_error("bad_query", key + ": not an RFC 3339 date-time within years 0001-9999");
      (key == "from" ? q.from : q.to) = *t;
    } else if (key == "journey") {
      if (value.empty())
        return make_error("bad_query", "journey: must not be empty");
      q.journey = value;
    } else if (key == "limit") {
      if (value.empty() || value.size() > 4 || value.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(value) < 1 || std::stoul(value) > kAuditLimitMax)
        return make_error("bad_query", "limit: a whole number from 1 to " + std::to_string(kAuditLimitMax));
      q.limit = std::stoul(value);
    } else if (key == "after") {
      if (value.size() != 32 || value.find_first_not_of("0123456789abcdef") != std::string::npos)
        return make_error("bad_query", "after: not a cursor (use the \"next\" of the previous page)");
      q.after = value;
    } else {
      return make_error("bad_query", "unknown parameter '" + key + "' (from, to, journey, limit, after)");
    }
  }
  if (q.to < q.from)
    return make_error("bad_query", "to: must be after from");
  return q;
}

bool audit_keeps(const AuditQuery& q, const std::string& entry) {
  if (q.journey.empty())
    return true;
  std::error_code ec;
  auto v = parse_stored_json(entry, ec);
  if (ec || !v.is_object())
    return false;
  auto* o = v.get_object().if_contains("object");
  return o && o->is_string() && o->get_string() == "journey:" + q.journey;
}

}  // namespace waymark
