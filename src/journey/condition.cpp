// Journey conditions: parsing with path-precise validation errors, and pure
// evaluation against a customer's traits, the current event and history.
#include "waymark/condition.hpp"

#include <optional>
#include <string_view>

namespace waymark {
namespace json = boost::json;

namespace {

const char* const kDurationHint = " (use 30s, 15m, 2h, 3d, 1w)";

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void add(std::vector<ValidationError>& errors, std::string path, std::string message) {
  errors.push_back(ValidationError{std::move(path), std::move(message)});
}

std::optional<CmpOp> op_from_string(std::string_view s) {
  static const std::pair<std::string_view, CmpOp> kOps[] = {
      {"eq", CmpOp::eq},         {"ne", CmpOp::ne},
      {"gt", CmpOp::gt},         {"gte", CmpOp::gte},
      {"lt", CmpOp::lt},         {"lte", CmpOp::lte},
      {"in", CmpOp::in},         {"contains", CmpOp::contains},
      {"starts_with", CmpOp::starts_with}, {"exists", CmpOp::exists},
      {"not_exists", CmpOp::not_exists}};
  for (const auto& [name, op] : kOps) {
    if (name == s) return op;
  }
  return std::nullopt;
}

bool is_numeric_op(CmpOp op) {
  return op == CmpOp::eq || op == CmpOp::ne || op == CmpOp::gt || op == CmpOp::gte ||
         op == CmpOp::lt || op == CmpOp::lte;
}

// "a.b.c" with no empty segment.
bool valid_segments(std::string_view rest) {
  if (rest.empty() || rest.front() == '.' || rest.back() == '.') return false;
  return rest.find("..") == std::string_view::npos;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// traits.*, event.name, event.properties.*, event.context.*
bool valid_condition_path(std::string_view p) {
  if (p == "event.name") return true;
  for (std::string_view root : {"traits.", "event.properties.", "event.context."}) {
    if (starts_with(p, root)) return valid_segments(p.substr(root.size()));
  }
  return false;
}

// Checks that every key of `o` is in `allowed`; reports the others.
void check_fields(const json::object& o, std::initializer_list<std::string_view> allowed,
                  const std::string& path, std::vector<ValidationError>& errors) {
  for (const auto& kv : o) {
    bool known = false;
    for (auto a : allowed) known = known || a == kv.key();
    if (!known) add(errors, join(path, kv.key()), "unknown field '" + std::string(kv.key()) + "'");
  }
}

ConditionPtr parse_group(const json::object& o, std::string_view key, const std::string& path,
                         std::vector<ValidationError>& errors) {
  auto c = std::make_shared<Condition>();
  c->kind = key == "all" ? Condition::Kind::all : Condition::Kind::any;
  const std::string p = join(path, key);
  const json::value& list = o.at(key);
  if (!list.is_array()) {
    add(errors, p, "expected array");
    return nullptr;
  }
  bool ok = true;
  const json::array& a = list.get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    auto child = parse_condition(a[i], index(p, i), errors);
    ok = ok && child != nullptr;
    c->children.push_back(std::move(child));
  }
  return ok ? c : nullptr;
}

ConditionPtr parse_not(const json::object& o, const std::string& path,
                       std::vector<ValidationError>& errors) {
  auto child = parse_condition(o.at("not"), join(path, "not"), errors);
  if (!child) return nullptr;
  auto c = std::make_shared<Condition>();
  c->kind = Condition::Kind::not_;
  c->children.push_back(std::move(child));
  return c;
}

// Reads "op"; reports a missing, mistyped or unknown operator.
std::optional<CmpOp> parse_op(const json::object& o, const std::string& path,
                              std::vector<ValidationError>& errors) {
  const std::string p = join(path, "op");
  const json::value* v = o.if_contains("op");
  if (!v) {
    add(errors, p, "missing required field 'op'");
    return std::nullopt;
  }
  if (!v->is_string()) {
    add(errors, p, "expected string");
    return std::nullopt;
  }
  auto op = op_from_string(v->get_string());
  if (!op) add(errors, p, "unknown operator '" + std::string(v->get_string()) + "'");
  return op;
}

ConditionPtr parse_compare(const json::object& o, const std::string& path,
                           std::vector<ValidationError>& errors) {
  const size_t before = errors.size();
  auto c = std::make_shared<Condition>();
  c->kind = Condition::Kind::compare;
  const json::value* p = o.if_contains("path");
  if (!p->is_string()) {
    add(errors, join(path, "path"), "expected string");
  } else if (!valid_condition_path(p->get_string())) {
    add(errors, join(path, "path"),
        "bad path '" + std::string(p->get_string()) +
            "' (use traits.*, event.name, event.properties.*, event.context.*)");
  } else {
    c->path = std::string(p->get_string());
  }
  auto op = parse_op(o, path, errors);
  const json::value* value = o.if_contains("value");
  if (op) {
    c->op = *op;
    const bool needs_value = *op != CmpOp::exists && *op != CmpOp::not_exists;
    if (needs_value && !value) add(errors, join(path, "value"), "missing required field 'value'");
    if (*op == CmpOp::in && value && !value->is_array()) {
      add(errors, join(path, "value"), "expected array for 'in'");
    }
  }
  if (value) c->value = *value;
  return errors.size() == before ? c : nullptr;
}

void parse_count_spec(const json::value& spec, const std::string& path, Condition& c,
                      std::vector<ValidationError>& errors) {
  if (!spec.is_object()) {
    add(errors, path, "expected object");
    return;
  }
  const json::object& o = spec.get_object();
  check_fields(o, {"event", "within", "where"}, path, errors);
  const json::value* event = o.if_contains("event");
  if (!event) {
    add(errors, join(path, "event"), "missing required field 'event'");
  } else if (!event->is_string() || event->get_string().empty()) {
    add(errors, join(path, "event"), "expected non-empty string");
  } else {
    c.count_event = std::string(event->get_string());
  }
  if (const json::value* within = o.if_contains("within")) {
    if (!within->is_string()) {
      add(errors, join(path, "within"), "expected string");
    } else if (auto d = parse_duration(within->get_string())) {
      if (*d > kDurationMax)
        add(errors, join(path, "within"),
            "duration '" + std::string(within->get_string()) + "' is longer than 100 years");
      else
        c.count_within = *d;
    } else {
      add(errors, join(path, "within"),
          "bad duration '" + std::string(within->get_string()) + "'" + kDurationHint);
    }
  }
  if (const json::value* where = o.if_contains("where")) {
    c.count_where = parse_condition(*where, join(path, "where"), errors);
  }
}

ConditionPtr parse_count(const json::object& o, const std::string& path,
                         std::vector<ValidationError>& errors) {
  const size_t before = errors.size();
  auto c = std::make_shared<Condition>();
  c->kind = Condition::Kind::count;
  parse_count_spec(o.at("count"), join(path, "count"), *c, errors);
  if (auto op = parse_op(o, path, errors)) {
    c->op = *op;
    if (!is_numeric_op(*op)) {
      add(errors, join(path, "op"), "count supports only eq ne gt gte lt lte");
    }
  }
  const json::value* value = o.if_contains("value");
  if (!value) {
    add(errors, join(path, "value"), "missing required field 'value'");
  } else if (!value->is_number()) {
    add(errors, join(path, "value"), "expected number");
  } else {
    c->value = *value;
  }
  return errors.size() == before ? c : nullptr;
}

// Exactly one of the kind keys must be present.
std::string_view kind_key(const json::object& o, const std::string& path,
                          std::vector<ValidationError>& errors) {
  std::string_view found;
  int n = 0;
  for (std::string_view k : {"all", "any", "not", "path", "count"}) {
    if (o.contains(k)) {
      found = k;
      ++n;
    }
  }
  if (n == 0) add(errors, path, "expected one of 'all', 'any', 'not', 'path', 'count'");
  if (n > 1) add(errors, path, "only one of 'all', 'any', 'not', 'path', 'count' is allowed");
  return n == 1 ? found : std::string_view{};
}

int cmp_numbers(const json::value& a, const json::value& b) {
  if (a.is_int64() && b.is_int64()) {
    return a.get_int64() < b.get_int64() ? -1 : a.get_int64() > b.get_int64() ? 1 : 0;
  }
  if (a.is_uint64() && b.is_uint64()) {
    return a.get_uint64() < b.get_uint64() ? -1 : a.get_uint64() > b.get_uint64() ? 1 : 0;
  }
  const double x = a.to_number<double>();
  const double y = b.to_number<double>();
  return x < y ? -1 : x > y ? 1 : 0;
}

// Deep JSON equality where numbers compare by value, whatever their storage.
bool json_equal(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return cmp_numbers(a, b) == 0;
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!json_equal(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const json::value* other = y.if_contains(kv.key());
      if (!other || !json_equal(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

// gt/gte/lt/lte: numbers numerically, strings lexicographically; else no order.
std::optional<int> order(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return cmp_numbers(a, b);
  if (a.is_string() && b.is_string()) {
    const int r = a.get_string().subview().compare(b.get_string().subview());
    return r < 0 ? -1 : r > 0 ? 1 : 0;
  }
  return std::nullopt;
}

bool contains(const json::value& lhs, const json::value& rhs) {
  if (lhs.is_string() && rhs.is_string()) {
    return lhs.get_string().subview().find(rhs.get_string().subview()) != std::string_view::npos;
  }
  if (lhs.is_array()) {
    for (const auto& e : lhs.get_array()) {
      if (json_equal(e, rhs)) return true;
    }
  }
  return false;
}

bool in_array(const json::value& lhs, const json::value& rhs) {
  if (!rhs.is_array()) return false;
  for (const auto& e : rhs.get_array()) {
    if (json_equal(lhs, e)) return true;
  }
  return false;
}

const json::value* navigate(const json::object* root, std::string_view rest) {
  if (!root) return nullptr;
  const json::object* obj = root;
  const json::value* cur = nullptr;
  while (true) {
    const size_t dot = rest.find('.');
    const std::string_view seg = rest.substr(0, dot);
    cur = obj->if_contains(seg);
    if (!cur || dot == std::string_view::npos) return cur;
    obj = cur->if_object();
    if (!obj) return nullptr;
    rest = rest.substr(dot + 1);
  }
}

int64_t count_history(const Condition& c, const EvalContext& ctx) {
  if (!ctx.history) return 0;
  int64_t n = 0;
  for (const HistoryEntry& h : *ctx.history) {
    if (h.name != c.count_event) continue;
    if (c.count_within > 0 && h.at < ctx.now - c.count_within) continue;
    if (c.count_where) {
      EvalContext sub;
      sub.traits = ctx.traits;
      sub.event_name = &h.name;
      sub.event_properties = &h.properties;
      sub.now = ctx.now;
      if (!evaluate(*c.count_where, sub)) continue;
    }
    ++n;
  }
  return n;
}

}  // namespace

ConditionPtr parse_condition(const json::value& v, const std::string& path,
                             std::vector<ValidationError>& errors) {
  if (!v.is_object()) {
    add(errors, path, "expected object");
    return nullptr;
  }
  const size_t before = errors.size();
  const json::object& o = v.get_object();
  const std::string_view kind = kind_key(o, path, errors);
  if (kind.empty()) return nullptr;
  ConditionPtr c;
  if (kind == "all" || kind == "any") {
    check_fields(o, {kind}, path, errors);
    c = parse_group(o, kind, path, errors);
  } else if (kind == "not") {
    check_fields(o, {"not"}, path, errors);
    c = parse_not(o, path, errors);
  } else if (kind == "path") {
    check_fields(o, {"path", "op", "value"}, path, errors);
    c = parse_compare(o, path, errors);
  } else {
    check_fields(o, {"count", "op", "value"}, path, errors);
    c = parse_count(o, path, errors);
  }
  return errors.size() == before ? c : nullptr;
}

bool evaluate(const Condition& c, const EvalContext& ctx) {
  switch (c.kind) {
    case Condition::Kind::all:
      for (const auto& child : c.children) {
        if (!evaluate(*child, ctx)) return false;
      }
      return true;
    case Condition::Kind::any:
      for (const auto& child : c.children) {
        if (evaluate(*child, ctx)) return true;
      }
      return false;
    case Condition::Kind::not_:
      return c.children.empty() || !evaluate(*c.children.front(), ctx);
    case Condition::Kind::compare: {
      json::value name_holder;
      return compare(resolve_path(c.path, ctx, name_holder), c.op, c.value);
    }
    case Condition::Kind::count: {
      const json::value n(count_history(c, ctx));
      return compare(&n, c.op, c.value);
    }
  }
  return false;
}

const json::value* resolve_path(const std::string& path, const EvalContext& ctx,
                                json::value& name_holder) {
  const std::string_view p = path;
  if (p == "event.name") {
    if (!ctx.event_name) return nullptr;
    name_holder = json::string(*ctx.event_name);
    return &name_holder;
  }
  if (starts_with(p, "traits.")) return navigate(ctx.traits, p.substr(7));
  if (starts_with(p, "event.properties.")) return navigate(ctx.event_properties, p.substr(17));
  if (starts_with(p, "event.context.")) return navigate(ctx.event_context, p.substr(14));
  return nullptr;
}

// A missing left-hand side (absent path or JSON null) has no value: every
// operator is false on it except `ne` and `not_exists`, which are true
// ("plan ne pro" holds for a customer with no plan).
bool compare(const json::value* lhs, CmpOp op, const json::value& rhs) {
  const bool present = lhs && !lhs->is_null();
  if (!present) return op == CmpOp::ne || op == CmpOp::not_exists;
  switch (op) {
    case CmpOp::exists: return true;
    case CmpOp::not_exists: return false;
    case CmpOp::eq: return json_equal(*lhs, rhs);
    case CmpOp::ne: return !json_equal(*lhs, rhs);
    case CmpOp::gt: return order(*lhs, rhs).value_or(0) > 0;
    case CmpOp::gte: {
      auto r = order(*lhs, rhs);
      return r && *r >= 0;
    }
    case CmpOp::lt: return order(*lhs, rhs).value_or(0) < 0;
    case CmpOp::lte: {
      auto r = order(*lhs, rhs);
      return r && *r <= 0;
    }
    case CmpOp::in: return in_array(*lhs, rhs);
    case CmpOp::contains: return contains(*lhs, rhs);
    case CmpOp::starts_with:
      return lhs->is_string() && rhs.is_string() &&
             starts_with(lhs->get_string().subview(), rhs.get_string().subview());
  }
  return false;
}

}  // namespace waymark
