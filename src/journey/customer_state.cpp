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
#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <string_view>

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
  if (i.holdout)
    o["holdout"] = true;
  if (!i.variants.empty()) {
    json::object vs;
    for (const auto& [step, variant] : i.variants)
      vs[step] = variant;
    o["variants"] = std::move(vs);
  }
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

// ---- writing without a DOM ------------------------------------------------------------
//
// serialize_state writes what json::serialize(to_json(s)) writes, byte for byte (same key
// order, same escapes, same number text), without building the DOM: that round trip was a
// third of the node's instructions, paid on every event. Members that already are DOMs
// (traits, Instance::entry, history props) are walked the same way; only doubles go
// through Boost.JSON's serializer, for its exact number text. tests/unit/state_writer_test.cpp
// holds the two writers to the same bytes.

namespace {

/// Writes through a raw pointer into `out`, grown ahead (std::string::append per piece
/// was half of the writer's instructions); finish() trims `out` to what was written.
class StateWriter {
public:
  StateWriter(std::string& out, size_t estimate) : out_(out) {
    const size_t used = out_.size();
    out_.resize(used + estimate);
    p_ = &out_[0] + used;
    end_ = &out_[0] + out_.size();
  }

  void finish() { out_.resize(static_cast<size_t>(p_ - out_.data())); }

  /// A literal piece of JSON (punctuation and keys that need no escaping).
  template <size_t N>
  void lit(const char (&s)[N]) {
    need(N - 1);
    std::memcpy(p_, s, N - 1);
    p_ += N - 1;
  }

  /// Writes `item(x)` for every element of `list`, comma-separated (the brackets
  /// are the caller's: they sit in the surrounding literals).
  template <class List, class Item>
  void each(const List& list, Item&& item) {
    bool first = true;
    for (const auto& x : list) {
      if (!first)
        lit(",");
      first = false;
      item(x);
    }
  }

  /// A JSON string with Boost.JSON's escapes: \" \\ \b \f \n \r \t, other bytes below
  /// 0x20 as \u00xx (lower-case hex); everything else, UTF-8 or not, passes through.
  void str(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    need(s.size() + 2);
    char* p = p_;  // a local: stores through char* would otherwise reload the member each byte
    *p++ = '"';
    const char* in = s.data();
    const char* const end = in + s.size();
    for (;;) {
      const char* run = in;
      in = find_escape(in, end);
      std::memcpy(p, run, static_cast<size_t>(in - run));
      p += in - run;
      if (in == end)
        break;
      const auto c = static_cast<unsigned char>(*in++);
      p_ = p;
      need(7 + static_cast<size_t>(end - in));  // this escape (6), the rest unescaped, the closing quote
      p = p_;
      *p++ = '\\';
      *p++ = kEscape[c];
      if (kEscape[c] == 'u') {
        p[0] = '0';
        p[1] = '0';
        p[2] = hex[c >> 4];
        p[3] = hex[c & 0xf];
        p += 4;
      }
    }
    *p++ = '"';
    p_ = p;
  }

  void str_or_null(const std::optional<std::string>& s) {
    if (s)
      str(*s);
    else
      lit("null");
  }

  template <class Int>
  void num(Int v) {
    need(24);  // 20 digits and a sign at most
    p_ = std::to_chars(p_, end_, v).ptr;
  }

  void boolean(bool b) {
    if (b)
      lit("true");
    else
      lit("false");
  }

  /// Embedded DOMs (traits, entry events, history props), written like Boost.JSON's
  /// serializer does, which stays in charge of doubles (its shortest round-trip form).
  void obj(const json::object& o) {
    need(2);
    *p_++ = '{';
    bool first = true;
    for (const auto& kv : o) {
      if (!first)
        *p_++ = ',';  // need() below and the closing brace's reserve cover it
      first = false;
      str(std::string_view(kv.key().data(), kv.key().size()));
      lit(":");
      value(kv.value());
      need(2);
    }
    *p_++ = '}';
  }

  void value(const json::value& v) {
    switch (v.kind()) {
      case json::kind::null: lit("null"); break;
      case json::kind::bool_: boolean(v.get_bool()); break;
      case json::kind::int64: num(v.get_int64()); break;
      case json::kind::uint64: num(v.get_uint64()); break;
      case json::kind::double_: serialized(v); break;
      case json::kind::string: str(std::string_view(v.get_string().data(), v.get_string().size())); break;
      case json::kind::array: {
        need(2);
        *p_++ = '[';
        bool first = true;
        for (const auto& e : v.get_array()) {
          if (!first)
            *p_++ = ',';
          first = false;
          value(e);
          need(2);
        }
        *p_++ = ']';
        break;
      }
      case json::kind::object: obj(v.get_object()); break;
    }
  }

private:
  void serialized(const json::value& v) {
    sr_.reset(&v);
    for (;;) {
      need(64);
      p_ += sr_.read(p_, static_cast<size_t>(end_ - p_)).size();
      if (sr_.done())
        break;
      grow(static_cast<size_t>(end_ - p_) + 1);  // it filled what was left
    }
  }

  /// The first byte in [p, end) that needs an escape (below 0x20, '"' or '\\'), or end.
  /// Eight bytes at a time: the scan byte by byte was most of the writer's instructions.
  static const char* find_escape(const char* p, const char* end) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    constexpr uint64_t ones = 0x0101010101010101ULL;
    constexpr uint64_t highs = 0x8080808080808080ULL;
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      // Per byte, the high bit is set for a byte below 0x20 / equal to '"' / equal to '\\'.
      // Borrows can only flag bytes after a flagged one, so the lowest flag is exact.
      const uint64_t control = (w - ones * 0x20) & ~w;
      const uint64_t q = w ^ (ones * '"');
      const uint64_t b = w ^ (ones * '\\');
      const uint64_t m = (control | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
      if (m)
        return p + (__builtin_ctzll(m) >> 3);
      p += 8;
    }
#endif
    while (p != end && !kEscape[static_cast<unsigned char>(*p)])
      ++p;
    return p;
  }

  // For each byte: 0 when it is written as is, else the letter after the backslash.
  static constexpr char kEscape[256] = {
      'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
      'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
      0,   0,   '"', 0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
      0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   '\\', 0, 0,   0};  // rest 0

  void need(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n)
      grow(n);
  }

  void grow(size_t n) {
    const size_t used = static_cast<size_t>(p_ - out_.data());
    out_.resize(std::max(out_.size() * 2, used + n));
    p_ = &out_[0] + used;
    end_ = &out_[0] + out_.size();
  }

  std::string& out_;
  char* p_;
  char* end_;
  json::serializer sr_;  // for doubles; one per document
};

/// Rough size of `o` serialised; nested members are under-counted (the string then grows once).
size_t object_estimate(const json::object& o) {
  size_t n = 2;
  for (const auto& kv : o) {
    n += kv.key().size() + 4;
    const json::value& v = kv.value();
    n += v.is_string() ? v.get_string().size() + 2 : v.is_object() ? 8 * v.get_object().size() + 2 : 12;
  }
  return n;
}

size_t state_estimate(const CustomerState& s) {
  size_t n = 200 + s.id.size() + object_estimate(s.traits);
  for (const auto& m : s.merged_ids)
    n += m.size() + 3;
  for (const auto& h : s.history)
    n += 36 + 14 + h.name.size() + object_estimate(h.properties);
  for (const auto& i : s.instances)
    n += 200 + 60 + i.id.size() + i.journey.size() + (i.key ? i.key->size() : 0) + i.step.size() + i.timer_id.size() +
         i.timeout_timer_id.size() + object_estimate(i.entry);
  for (const auto& kv : s.memo)
    n += kv.first.size() + 80;
  for (const auto& kv : s.entry_condition)
    n += kv.first.size() + 10;
  for (const auto& [channel, at] : s.sends)
    n += channel.size() + 20;
  for (const auto& t : s.trace)
    n += 70 + 24 + t.trigger.size() + t.journey.size() + t.step.size() + t.what.size();
  for (const auto& d : s.deliveries)
    n += 50 + 14 + d.id.size() + d.channel.size() + d.journey.size() + d.step.size();
  return n;
}

void write_instance(StateWriter& w, const Instance& i) {
  w.lit("{\"id\":");
  w.str(i.id);
  w.lit(",\"journey\":");
  w.str(i.journey);
  w.lit(",\"version\":");
  w.num(i.version);
  w.lit(",\"key\":");
  w.str_or_null(i.key);
  w.lit(",\"step\":");
  w.str(i.step);
  w.lit(",\"entered_at\":");
  w.num(i.entered_at);
  w.lit(",\"step_since\":");
  w.num(i.step_since);
  w.lit(",\"entry\":");
  w.obj(i.entry);
  w.lit(",\"timer_id\":");
  w.str(i.timer_id);
  w.lit(",\"timer_due\":");
  w.num(i.timer_due);
  w.lit(",\"timeout_timer_id\":");
  w.str(i.timeout_timer_id);
  w.lit(",\"timeout_due\":");
  w.num(i.timeout_due);
  w.lit(",\"visits\":");
  w.num(i.visits);
  if (i.holdout)
    w.lit(",\"holdout\":true");
  if (!i.variants.empty()) {
    w.lit(",\"variants\":{");
    for (size_t n = 0; n < i.variants.size(); ++n) {
      if (n)
        w.lit(",");
      w.str(i.variants[n].first);
      w.lit(":");
      w.str(i.variants[n].second);
    }
    w.lit("}");
  }
  w.lit("}");
}

void write_recent(StateWriter& w, const CustomerState& s) {
  w.lit(",\"sends\":[");
  w.each(s.sends, [&w](const auto& item) {
    const auto& [channel, at] = item;
    w.lit("[");
    w.str(channel);
    w.lit(",");
    w.num(at);
    w.lit("]");
  });
  w.lit("],\"trace\":[");
  w.each(s.trace, [&w](const auto& t) {
    w.lit("{\"at\":");
    w.num(t.at);
    w.lit(",\"trigger\":");
    w.str(t.trigger);
    w.lit(",\"journey\":");
    w.str(t.journey);
    w.lit(",\"version\":");
    w.num(t.version);
    w.lit(",\"step\":");
    w.str(t.step);
    w.lit(",\"what\":");
    w.str(t.what);
    w.lit("}");
  });
  w.lit("],\"deliveries\":[");
  w.each(s.deliveries, [&w](const auto& d) {
    w.lit("{\"id\":");
    w.str(d.id);
    w.lit(",\"channel\":");
    w.str(d.channel);
    w.lit(",\"journey\":");
    w.str(d.journey);
    w.lit(",\"step\":");
    w.str(d.step);
    w.lit(",\"at\":");
    w.num(d.at);
    w.lit("}");
  });
  w.lit("]");
}

}  // namespace

void serialize_state(const CustomerState& s, std::string& out) {
  StateWriter w(out, state_estimate(s));
  w.lit("{\"id\":");
  w.str(s.id);
  w.lit(",\"traits\":");
  w.obj(s.traits);
  w.lit(",\"merged_ids\":[");
  w.each(s.merged_ids, [&w](const auto& m) { w.str(m); });
  w.lit("],\"history\":[");
  w.each(s.history, [&w](const auto& h) {
    w.lit("{\"name\":");
    w.str(h.name);
    w.lit(",\"at\":");
    w.num(h.at);
    w.lit(",\"props\":");
    w.obj(h.properties);
    w.lit("}");
  });
  w.lit("],\"instances\":[");
  w.each(s.instances, [&w](const auto& i) { write_instance(w, i); });
  w.lit("],\"memo\":{");
  w.each(s.memo, [&w](const auto& item) {
    const auto& [k, m] = item;
    w.str(k);
    w.lit(":{\"entered\":");
    w.num(m.last_entered);
    w.lit(",\"exited\":");
    w.num(m.last_exited);
    w.lit(",\"active\":");
    w.boolean(m.active);
    w.lit("}");
  });
  w.lit("},\"entry_condition\":{");
  w.each(s.entry_condition, [&w](const auto& item) {
    const auto& [k, v] = item;
    w.str(k);
    w.lit(":");
    w.boolean(v);
  });
  w.lit("}");
  write_recent(w, s);
  w.lit(",\"next_seq\":");
  w.num(s.next_seq);
  w.lit(",\"created_at\":");
  w.num(s.created_at);
  w.lit(",\"updated_at\":");
  w.num(s.updated_at);
  w.lit("}");
  w.finish();
}

std::string serialize_state(const CustomerState& s) {
  std::string out;
  serialize_state(s, out);
  return out;
}

void serialize_event(const Event& e, std::string& out) {
  StateWriter w(out, 192 + e.name.size() + e.user_id.size() + e.anonymous_id.size() + e.message_id.size());
  w.lit("{\"type\":");
  w.str(to_string(e.type));
  w.lit(",\"name\":");
  w.str(e.name);
  w.lit(",\"event\":");
  w.str(e.name);
  if (!e.user_id.empty()) {
    w.lit(",\"userId\":");
    w.str(e.user_id);
  }
  if (!e.anonymous_id.empty()) {
    w.lit(",\"anonymousId\":");
    w.str(e.anonymous_id);
  }
  w.lit(",\"properties\":");
  w.obj(e.properties);
  w.lit(",\"traits\":");
  w.obj(e.traits);
  w.lit(",\"context\":");
  w.obj(e.context);
  w.lit(",\"timestamp\":");
  w.str(format_rfc3339(e.timestamp));
  if (!e.message_id.empty()) {
    w.lit(",\"messageId\":");
    w.str(e.message_id);
  }
  if (!e.previous_id.empty()) {
    w.lit(",\"previousId\":");
    w.str(e.previous_id);
  }
  w.lit("}");
  w.finish();
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

/// Room for the stored entries and the next one (the engine adds an entry before it trims
/// the oldest): a rehydrated full list gets one exact buffer, as one that grew in memory has.
template <class T>
void reserve_stored(VecDeque<T>& list, const json::array& a) {
  if (!a.empty())
    list.reserve(a.size() + 1);
}

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
  rd.boolean(o, "holdout", i.holdout);
  if (const json::value* vs = rd.field(o, "variants")) {
    if (!vs->is_object())
      rd.fail("variants", "expected an object");
    else
      for (const auto& kv : vs->get_object())
        if (kv.value().is_string())
          i.variants.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
  }
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
  if (const json::array* a = rd.array(o, "history")) {
    reserve_stored(s.history, *a);
    for (const auto& v : *a)
      if (const json::object* h = rd.as_object(v, "history")) {
        HistoryEntry e;
        rd.str(*h, "name", e.name);
        rd.i64(*h, "at", e.at);
        rd.object(*h, "props", e.properties);
        s.history.push_back(std::move(e));
      }
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
  if (const json::array* a = rd.array(o, "trace")) {
    reserve_stored(s.trace, *a);
    for (const auto& v : *a)
      if (const json::object* t = rd.as_object(v, "trace")) {
        TraceEntry e;
        read_trace(rd, *t, e);
        s.trace.push_back(std::move(e));
      }
  }
  if (const json::array* a = rd.array(o, "deliveries")) {
    reserve_stored(s.deliveries, *a);
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
