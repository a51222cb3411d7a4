// Store format of CustomerState (one JSON document per customer in LMDB) and
// the §7 delivery record. The round trip is lossless; reading never throws:
// malformed input returns Error{"bad_state", "<field>: <problem>"}.
//
// {"id","traits","merged_ids":[..],
//  "history":[{"name","at","props"}],
//  "instances":[{"id","journey","version","key"|null,"step","entered_at","step_since","entry",
//                "timer_id","timer_due","timeout_timer_id","timeout_due","visits"}],
//  "memo":{"<journey>\u001f<key>":{"entered","exited","active"}},
//  "entry_condition":{"<journey>":bool},
//  "sends":[["<channel>",at]],
//  "trace":[{"at","trigger","journey","version","step","what"}],
//  "deliveries":[{"id","channel","journey","step","at"}],
//  "next_seq","created_at","updated_at"}
#include <limits>

#include "waymark/engine.hpp"

namespace waymark {

namespace json = boost::json;

json::object Delivery::to_json() const {
  json::object o;
  o["id"] = id;
  o["channel"] = channel;
  o["customer"] = customer;
  o["journey"] = journey;
  o["version"] = version;
  if (key)
    o["key"] = *key;
  else
    o["key"] = nullptr;
  o["step"] = step;
  o["template"] = template_id;
  o["to"] = to;
  o["content"] = content;
  o["at"] = format_rfc3339(at);
  return o;
}

// ---- writing ------------------------------------------------------------------------

namespace {

json::object instance_json(const Instance& i) {
  json::object o;
  o["id"] = i.id;
  o["journey"] = i.journey;
  o["version"] = i.version;
  if (i.key)
    o["key"] = *i.key;
  else
    o["key"] = nullptr;
  o["step"] = i.step;
  o["entered_at"] = i.entered_at;
  o["step_since"] = i.step_since;
  o["entry"] = i.entry;
  o["timer_id"] = i.timer_id;
  o["timer_due"] = i.timer_due;
  o["timeout_timer_id"] = i.timeout_timer_id;
  o["timeout_due"] = i.timeout_due;
  o["visits"] = i.visits;
  return o;
}

json::object trace_json(const TraceEntry& t) {
  return json::object{{"at", t.at},           {"trigger", t.trigger}, {"journey", t.journey},
                      {"version", t.version}, {"step", t.step},       {"what", t.what}};
}

}  // namespace

json::object to_json(const CustomerState& s) {
  json::object o;
  o["id"] = s.id;
  o["traits"] = s.traits;
  json::array& merged = o["merged_ids"].emplace_array();
  for (const auto& m : s.merged_ids)
    merged.emplace_back(m);
  json::array& history = o["history"].emplace_array();
  for (const auto& h : s.history)
    history.emplace_back(json::object{{"name", h.name}, {"at", h.at}, {"props", h.properties}});
  json::array& instances = o["instances"].emplace_array();
  for (const auto& i : s.instances)
    instances.emplace_back(instance_json(i));
  json::object& memo = o["memo"].emplace_object();
  for (const auto& [k, m] : s.memo)
    memo[k] = json::object{{"entered", m.last_entered}, {"exited", m.last_exited}, {"active", m.active}};
  json::object& cond = o["entry_condition"].emplace_object();
  for (const auto& [k, v] : s.entry_condition)
    cond[k] = v;
  json::array& sends = o["sends"].emplace_array();
  for (const auto& [channel, at] : s.sends)
    sends.emplace_back(json::array{json::value(channel), json::value(at)});
  json::array& trace = o["trace"].emplace_array();
  for (const auto& t : s.trace)
    trace.emplace_back(trace_json(t));
  json::array& deliveries = o["deliveries"].emplace_array();
  for (const auto& d : s.deliveries)
    deliveries.emplace_back(json::object{
        {"id", d.id}, {"channel", d.channel}, {"journey", d.journey}, {"step", d.step}, {"at", d.at}});
  o["next_seq"] = s.next_seq;
  o["created_at"] = s.created_at;
  o["updated_at"] = s.updated_at;
  return o;
}

// ---- reading ------------------------------------------------------------------------

namespace {

/// Reads typed fields, remembering the first problem. Absent fields keep
/// their defaults (older documents); present fields of the wrong type fail.
class Reader {
public:
  bool ok() const { return error_.empty(); }
  Error error() const { return make_error("bad_state", error_); }

  void fail(const std::string& where, const char* problem) {
    if (error_.empty())
      error_ = where + ": " + problem;
  }

  const json::value* field(const json::object& o, const char* k) {
    auto it = o.find(k);
    return it == o.end() ? nullptr : &it->value();
  }

  void str(const json::object& o, const char* k, std::string& out) {
    if (const json::value* v = field(o, k)) {
      if (v->is_string())
        out = std::string(v->get_string());
      else
        fail(k, "expected a string");
    }
  }

  void i64(const json::object& o, const char* k, int64_t& out) {
    if (const json::value* v = field(o, k)) {
      if (v->is_int64())
        out = v->get_int64();
      else if (v->is_uint64() && v->get_uint64() <= uint64_t(std::numeric_limits<int64_t>::max()))
        out = static_cast<int64_t>(v->get_uint64());
      else
        fail(k, "expected an integer");
    }
  }

  void u64(const json::object& o, const char* k, uint64_t& out) {
    if (const json::value* v = field(o, k)) {
      if (v->is_uint64())
        out = v->get_uint64();
      else if (v->is_int64() && v->get_int64() >= 0)
        out = static_cast<uint64_t>(v->get_int64());
      else
        fail(k, "expected a non-negative integer");
    }
  }

  template <class Int>
  void small_int(const json::object& o, const char* k, Int& out) {
    int64_t x = static_cast<int64_t>(out);
    i64(o, k, x);
    if (x < int64_t(std::numeric_limits<Int>::min()) || x > int64_t(std::numeric_limits<Int>::max()))
      fail(k, "out of range");
    else
      out = static_cast<Int>(x);
  }

  void boolean(const json::object& o, const char* k, bool& out) {
    if (const json::value* v = field(o, k)) {
      if (v->is_bool())
        out = v->get_bool();
      else
        fail(k, "expected a boolean");
    }
  }

  void object(const json::object& o, const char* k, json::object& out) {
    if (const json::value* v = field(o, k)) {
      if (v->is_object())
        out = v->get_object();
      else
        fail(k, "expected an object");
    }
  }

  /// The array at `k` ({} when absent); null (and a failure) when not an array.
  const json::array* array(const json::object& o, const char* k) {
    static const json::array empty;
    const json::value* v = field(o, k);
    if (!v)
      return &empty;
    if (!v->is_array()) {
      fail(k, "expected an array");
      return nullptr;
    }
    return &v->get_array();
  }

  const json::object* as_object(const json::value& v, const char* where) {
    if (v.is_object())
      return &v.get_object();
    fail(where, "expected an object");
    return nullptr;
  }

private:
  std::string error_;
};

void read_instance(Reader& rd, const json::object& o, Instance& i) {
  rd.str(o, "id", i.id);
  rd.str(o, "journey", i.journey);
  rd.small_int(o, "version", i.version);
  if (const json::value* k = rd.field(o, "key")) {
    if (k->is_string())
      i.key = std::string(k->get_string());
    else if (!k->is_null())
      rd.fail("key", "expected a string or null");
  }
  rd.str(o, "step", i.step);
  rd.i64(o, "entered_at", i.entered_at);
  rd.i64(o, "step_since", i.step_since);
  rd.object(o, "entry", i.entry);
  rd.str(o, "timer_id", i.timer_id);
  rd.i64(o, "timer_due", i.timer_due);
  rd.str(o, "timeout_timer_id", i.timeout_timer_id);
  rd.i64(o, "timeout_due", i.timeout_due);
  rd.small_int(o, "visits", i.visits);
  if (i.id.empty() || i.journey.empty())
    rd.fail("instances", "instance without id or journey");
}

void read_trace(Reader& rd, const json::object& o, TraceEntry& t) {
  rd.i64(o, "at", t.at);
  rd.str(o, "trigger", t.trigger);
  rd.str(o, "journey", t.journey);
  rd.small_int(o, "version", t.version);
  rd.str(o, "step", t.step);
  rd.str(o, "what", t.what);
}

void read_lists(Reader& rd, const json::object& o, CustomerState& s) {
  if (const json::array* a = rd.array(o, "merged_ids"))
    for (const auto& v : *a) {
      if (v.is_string())
        s.merged_ids.emplace_back(v.get_string());
      else
        rd.fail("merged_ids", "expected strings");
    }
  if (const json::array* a = rd.array(o, "history"))
    for (const auto& v : *a)
      if (const json::object* h = rd.as_object(v, "history")) {
        HistoryEntry e;
        rd.str(*h, "name", e.name);
        rd.i64(*h, "at", e.at);
        rd.object(*h, "props", e.properties);
        s.history.push_back(std::move(e));
      }
  if (const json::array* a = rd.array(o, "instances"))
    for (const auto& v : *a)
      if (const json::object* io = rd.as_object(v, "instances")) {
        Instance i;
        read_instance(rd, *io, i);
        s.instances.push_back(std::move(i));
      }
}

void read_maps(Reader& rd, const json::object& o, CustomerState& s) {
  json::object memo, cond;
  rd.object(o, "memo", memo);
  for (const auto& kv : memo)
    if (const json::object* m = rd.as_object(kv.value(), "memo")) {
      EntryMemo e;
      rd.i64(*m, "entered", e.last_entered);
      rd.i64(*m, "exited", e.last_exited);
      rd.boolean(*m, "active", e.active);
      s.memo[std::string(kv.key())] = e;
    }
  rd.object(o, "entry_condition", cond);
  for (const auto& kv : cond) {
    if (kv.value().is_bool())
      s.entry_condition[std::string(kv.key())] = kv.value().get_bool();
    else
      rd.fail("entry_condition", "expected booleans");
  }
}

void read_recent(Reader& rd, const json::object& o, CustomerState& s) {
  if (const json::array* a = rd.array(o, "sends"))
    for (const auto& v : *a) {
      const json::array* pair = v.if_array();
      if (!pair || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_int64()) {
        rd.fail("sends", "expected [channel, at] pairs");
        continue;
      }
      s.sends.emplace_back(std::string((*pair)[0].get_string()), (*pair)[1].get_int64());
    }
  if (const json::array* a = rd.array(o, "trace"))
    for (const auto& v : *a)
      if (const json::object* t = rd.as_object(v, "trace")) {
        TraceEntry e;
        read_trace(rd, *t, e);
        s.trace.push_back(std::move(e));
      }
  if (const json::array* a = rd.array(o, "deliveries"))
    for (const auto& v : *a)
      if (const json::object* d = rd.as_object(v, "deliveries")) {
        DeliveryRef e;
        rd.str(*d, "id", e.id);
        rd.str(*d, "channel", e.channel);
        rd.str(*d, "journey", e.journey);
        rd.str(*d, "step", e.step);
        rd.i64(*d, "at", e.at);
        s.deliveries.push_back(std::move(e));
      }
}

}  // namespace

Result<CustomerState> customer_from_json(const json::value& v) {
  Reader rd;
  const json::object* o = rd.as_object(v, "customer");
  if (!o)
    return rd.error();
  CustomerState s;
  rd.str(*o, "id", s.id);
  rd.object(*o, "traits", s.traits);
  read_lists(rd, *o, s);
  read_maps(rd, *o, s);
  read_recent(rd, *o, s);
  rd.u64(*o, "next_seq", s.next_seq);
  rd.i64(*o, "created_at", s.created_at);
  rd.i64(*o, "updated_at", s.updated_at);
  if (!rd.ok())
    return rd.error();
  return s;
}

}  // namespace waymark
