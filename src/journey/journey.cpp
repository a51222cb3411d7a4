// Journey definitions: parsing plus whole-journey validation (references,
// reachability, wait-free cycles). Every problem becomes a ValidationError
// with a dotted path; parsing goes on after an error so all are reported.
#include "waymark/journey.hpp"

#include <algorithm>
#include <initializer_list>
#include <string_view>

namespace waymark {
namespace json = boost::json;

const char* to_string(StepType t) {
  switch (t) {
    case StepType::send: return "send";
    case StepType::wait: return "wait";
    case StepType::wait_event: return "wait_event";
    case StepType::branch: return "branch";
    case StepType::split: return "split";
    case StepType::update: return "update";
    case StepType::jump: return "jump";
    case StepType::exit: return "exit";
  }
  return "unknown";
}

const char* to_string(ReentryMode m) {
  switch (m) {
    case ReentryMode::never: return "never";
    case ReentryMode::after_exit: return "after_exit";
    case ReentryMode::always: return "always";
  }
  return "unknown";
}

namespace {

constexpr size_t kIdLengthMax = 128;
constexpr int64_t kSplitWeightMax = 1000000;

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// [A-Za-z0-9_.-]{1,128}
bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kIdLengthMax) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  });
}

// "root.a.b" with a root from `roots` and no empty segment.
bool valid_dotted(std::string_view p, std::initializer_list<std::string_view> roots) {
  for (std::string_view root : roots) {
    if (p.substr(0, root.size()) != root) continue;
    std::string_view rest = p.substr(root.size());
    return !rest.empty() && rest.front() != '.' && rest.back() != '.' &&
           rest.find("..") == std::string_view::npos;
  }
  return false;
}

std::optional<StepType> step_type_from(std::string_view s) {
  for (StepType t : {StepType::send, StepType::wait, StepType::wait_event, StepType::branch,
                     StepType::split, StepType::update, StepType::jump, StepType::exit}) {
    if (s == to_string(t)) return t;
  }
  return std::nullopt;
}

// One parse: the validation context, the error list, and typed field readers
// that report missing/mistyped fields at `path.key`.
class Parser {
public:
  Parser(const ValidationContext& ctx, std::vector<ValidationError>& errors)
      : ctx_(ctx), errors_(errors) {}

  JourneyPtr parse(const json::value& v);

private:
  void error(std::string path, std::string message) {
    errors_.push_back(ValidationError{std::move(path), std::move(message)});
  }

  void check_fields(const json::object& o, std::initializer_list<std::string_view> allowed,
                    const std::string& path) {
    for (const auto& kv : o) {
      if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end()) {
        error(join(path, kv.key()), "unknown field '" + std::string(kv.key()) + "'");
      }
    }
  }

  const json::object* object_at(const json::value& v, const std::string& path) {
    if (!v.is_object()) error(path, "expected object");
    return v.if_object();
  }

  // A string field; reports missing (when required), wrong type and empty.
  std::optional<std::string> string_field(const json::object& o, std::string_view key,
                                          const std::string& path, bool required) {
    const json::value* v = o.if_contains(key);
    const std::string p = join(path, key);
    if (!v) {
      if (required) error(p, "missing required field '" + std::string(key) + "'");
      return std::nullopt;
    }
    if (!v->is_string()) {
      error(p, "expected string");
      return std::nullopt;
    }
    if (v->get_string().empty()) {
      error(p, "must not be empty");
      return std::nullopt;
    }
    return std::string(v->get_string());
  }

  std::optional<Millis> duration_field(const json::object& o, std::string_view key,
                                       const std::string& path, bool required) {
    const json::value* v = o.if_contains(key);
    const std::string p = join(path, key);
    if (!v) {
      if (required) error(p, "missing required field '" + std::string(key) + "'");
      return std::nullopt;
    }
    if (!v->is_string()) {
      error(p, "expected string");
      return std::nullopt;
    }
    auto d = parse_duration(v->get_string());
    if (!d) {
      error(p, "bad duration '" + std::string(v->get_string()) +
                   "' (use 30s, 15m, 2h, 3d, 1w)");
    } else if (*d > kDurationMax) {
      error(p, "duration '" + std::string(v->get_string()) + "' is longer than 100 years");
      return std::nullopt;
    }
    return d;
  }

  ConditionPtr condition_field(const json::object& o, std::string_view key,
                               const std::string& path, bool required) {
    const json::value* v = o.if_contains(key);
    if (!v) {
      if (required) error(join(path, key), "missing required field '" + std::string(key) + "'");
      return nullptr;
    }
    return parse_condition(*v, join(path, key), errors_);
  }

  void parse_header(const json::object& o, Journey& j);
  void parse_entry(const json::object& o, Journey& j);
  void parse_reentry(const json::value& v, Journey& j);
  void parse_exits(const json::value& v, Journey& j);
  void parse_goal(const json::value& v, Journey& j);
  void parse_holdout(const json::value& v, Journey& j);
  void parse_steps(const json::object& o, Journey& j);
  bool parse_step(const json::value& v, const std::string& path, Step& s);
  void check_jump_target(const std::string& target, const std::string& path);
  void parse_send(const json::object& o, const std::string& path, Step& s);
  void parse_wait_event(const json::object& o, const std::string& path, Step& s);
  void parse_branch(const json::object& o, const std::string& path, Step& s);
  void parse_split(const json::object& o, const std::string& path, Step& s);
  void parse_update(const json::object& o, const std::string& path, Step& s);
  void check_graph(const Journey& j);
  void check_targets(const Journey& j);
  void check_reachable(const Journey& j);
  void check_wait_free_cycles(const Journey& j);

  const ValidationContext& ctx_;
  std::string id_;  // of the journey being parsed (a jump to itself needs no lookup)
  std::vector<ValidationError>& errors_;
  bool edges_known_ = true;  // false when a step's type (hence its targets) is unknown
};

JourneyPtr Parser::parse(const json::value& v) {
  const size_t before = errors_.size();
  if (!v.is_object()) {
    error("", "expected a JSON object");
    return nullptr;
  }
  const json::object& o = v.get_object();
  check_fields(o, {"id", "name", "owner", "entry", "key", "reentry", "exit", "goal", "timeout",
                   "holdout", "start", "steps"},
               "");
  auto j = std::make_shared<Journey>();
  j->source = o;
  parse_header(o, *j);
  parse_entry(o, *j);
  if (const json::value* r = o.if_contains("reentry")) parse_reentry(*r, *j);
  if (const json::value* e = o.if_contains("exit")) parse_exits(*e, *j);
  if (const json::value* g = o.if_contains("goal")) parse_goal(*g, *j);
  if (const json::value* h = o.if_contains("holdout")) parse_holdout(*h, *j);
  parse_steps(o, *j);
  if (errors_.size() != before) return nullptr;
  return j;
}

void Parser::parse_header(const json::object& o, Journey& j) {
  if (auto id = string_field(o, "id", "", true)) {
    if (valid_id(*id)) {
      j.id = *id;
      id_ = *id;
    } else {
      error("id", "bad id '" + *id + "' (use 1-128 of A-Z a-z 0-9 _ . -)");
    }
  }
  j.name = string_field(o, "name", "", false).value_or("");
  j.owner = string_field(o, "owner", "", false).value_or("");
  if (auto key = string_field(o, "key", "", false)) {
    if (valid_dotted(*key, {"properties.", "traits."})) {
      j.key_path = *key;
    } else {
      error("key", "bad key '" + *key + "' (use properties.* or traits.*)");
    }
  }
  j.timeout = duration_field(o, "timeout", "", false).value_or(0);
}

void Parser::parse_entry(const json::object& o, Journey& j) {
  const json::value* v = o.if_contains("entry");
  if (!v) {
    error("entry", "missing required field 'entry'");
    return;
  }
  const json::object* e = object_at(*v, "entry");
  if (!e) return;
  check_fields(*e, {"event", "when"}, "entry");
  j.entry_event = string_field(*e, "event", "entry", false).value_or("");
  j.entry_when = condition_field(*e, "when", "entry", false);
  if (!e->contains("event") && !e->contains("when")) {
    error("entry", "needs 'event' or 'when'");
  }
}

void Parser::parse_reentry(const json::value& v, Journey& j) {
  const json::object* r = object_at(v, "reentry");
  if (!r) return;
  check_fields(*r, {"mode", "cooldown"}, "reentry");
  if (auto mode = string_field(*r, "mode", "reentry", false)) {
    if (*mode == "never") {
      j.reentry = ReentryMode::never;
    } else if (*mode == "after_exit") {
      j.reentry = ReentryMode::after_exit;
    } else if (*mode == "always") {
      j.reentry = ReentryMode::always;
    } else {
      error("reentry.mode", "unknown mode '" + *mode + "' (use never, after_exit, always)");
    }
  }
  j.cooldown = duration_field(*r, "cooldown", "reentry", false).value_or(0);
}

void Parser::parse_exits(const json::value& v, Journey& j) {
  if (!v.is_array()) {
    error("exit", "expected array");
    return;
  }
  const json::array& a = v.get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string p = index("exit", i);
    const json::object* e = object_at(a[i], p);
    if (!e) continue;
    check_fields(*e, {"event", "when"}, p);
    ExitCriterion x;
    x.event = string_field(*e, "event", p, false).value_or("");
    x.when = condition_field(*e, "when", p, false);
    if (!e->contains("event") && !e->contains("when")) error(p, "needs 'event' or 'when'");
    j.exits.push_back(std::move(x));
  }
}

void Parser::parse_goal(const json::value& v, Journey& j) {
  const json::object* g = object_at(v, "goal");
  if (!g) return;
  check_fields(*g, {"event", "when", "within", "value"}, "goal");
  Goal goal;
  goal.event = string_field(*g, "event", "goal", true).value_or("");
  goal.when = condition_field(*g, "when", "goal", false);
  goal.within = duration_field(*g, "within", "goal", false).value_or(0);
  if (auto value = string_field(*g, "value", "goal", false)) {
    if (valid_dotted(*value, {"properties.", "context."})) {
      goal.value_path = *value;
    } else {
      error("goal.value", "bad path '" + *value + "' (use properties.* of the goal event)");
    }
  }
  j.goal = std::move(goal);
}

// "holdout": {"percent": P}, P a number in 0-50 (PRODUCT.md §10).
void Parser::parse_holdout(const json::value& v, Journey& j) {
  const json::object* h = object_at(v, "holdout");
  if (!h) return;
  check_fields(*h, {"percent"}, "holdout");
  const json::value* p = h->if_contains("percent");
  if (!p) {
    error("holdout.percent", "missing required field 'percent'");
  } else if (!p->is_number()) {
    error("holdout.percent", "expected a number (0-50)");
  } else {
    const double percent = p->to_number<double>();
    if (!(percent >= 0 && percent <= 50))
      error("holdout.percent", "must be between 0 and 50");
    else
      j.holdout_percent = percent;
  }
}

void Parser::parse_steps(const json::object& o, Journey& j) {
  const json::value* v = o.if_contains("steps");
  if (!v) {
    error("steps", "missing required field 'steps'");
  } else if (!v->is_object()) {
    error("steps", "expected object");
  } else if (v->get_object().empty()) {
    error("steps", "expected at least one step");
  } else {
    for (const auto& kv : v->get_object()) {
      const std::string id(kv.key());
      const std::string p = join("steps", id);
      if (!valid_id(id)) error(p, "bad step id '" + id + "' (use 1-128 of A-Z a-z 0-9 _ . -)");
      Step s;
      s.id = id;
      edges_known_ = parse_step(kv.value(), p, s) && edges_known_;
      j.steps.emplace(id, std::move(s));
    }
  }
  if (auto start = string_field(o, "start", "", true)) {
    j.start = *start;
    if (v && v->is_object() && !j.steps.count(*start)) {
      error("start", "unknown step '" + *start + "'");
    }
  }
  if (!j.steps.empty()) check_graph(j);
}

// Returns false when the step's targets are unknown (no usable type).
bool Parser::parse_step(const json::value& v, const std::string& path, Step& s) {
  const json::object* o = object_at(v, path);
  if (!o) return false;
  auto type_name = string_field(*o, "type", path, true);
  if (!type_name) return false;
  auto type = step_type_from(*type_name);
  if (!type) {
    error(join(path, "type"), "unknown step type '" + *type_name + "'");
    return false;
  }
  s.type = *type;
  switch (s.type) {
    case StepType::send: parse_send(*o, path, s); break;
    case StepType::wait:
      check_fields(*o, {"type", "duration", "next"}, path);
      s.duration = duration_field(*o, "duration", path, true).value_or(0);
      s.next = string_field(*o, "next", path, true).value_or("");
      break;
    case StepType::wait_event: parse_wait_event(*o, path, s); break;
    case StepType::branch: parse_branch(*o, path, s); break;
    case StepType::split: parse_split(*o, path, s); break;
    case StepType::update: parse_update(*o, path, s); break;
    case StepType::jump:
      check_fields(*o, {"type", "journey"}, path);
      s.journey = string_field(*o, "journey", path, true).value_or("");
      check_jump_target(s.journey, path);
      break;
    case StepType::exit: check_fields(*o, {"type"}, path); break;
  }
  return true;
}

void Parser::check_jump_target(const std::string& target, const std::string& path) {
  if (target.empty() || target == id_ || !ctx_.jump_target_problem)
    return;
  if (auto problem = ctx_.jump_target_problem(target); !problem.empty())
    error(join(path, "journey"), problem);
}

void Parser::parse_send(const json::object& o, const std::string& path, Step& s) {
  check_fields(o, {"type", "channel", "template", "next"}, path);
  s.next = string_field(o, "next", path, true).value_or("");
  auto channel = string_field(o, "channel", path, true);
  if (channel) {
    s.channel = *channel;
    if (!ctx_.channels.count(*channel)) error(join(path, "channel"), "unknown channel '" + *channel + "'");
  }
  auto tmpl = string_field(o, "template", path, true);
  if (!tmpl) return;
  s.template_id = *tmpl;
  const std::string p = join(path, "template");
  if (ctx_.template_exists && !ctx_.template_exists(*tmpl)) {
    error(p, "unknown template '" + *tmpl + "'");
    return;
  }
  const std::string tc = ctx_.template_channel ? ctx_.template_channel(*tmpl) : "";
  if (channel && !tc.empty() && tc != *channel) {
    error(p, "template '" + *tmpl + "' is for channel '" + tc + "', not '" + *channel + "'");
  }
}

void Parser::parse_wait_event(const json::object& o, const std::string& path, Step& s) {
  check_fields(o, {"type", "event", "when", "timeout", "next", "timeout_next"}, path);
  s.event = string_field(o, "event", path, true).value_or("");
  s.when = condition_field(o, "when", path, false);
  // `timeout` is optional; when given, `timeout_next` says where it leads.
  const bool has_timeout = o.contains("timeout");
  s.timeout = duration_field(o, "timeout", path, false).value_or(0);
  s.next = string_field(o, "next", path, true).value_or("");
  s.timeout_next = string_field(o, "timeout_next", path, has_timeout).value_or("");
  if (!has_timeout && o.contains("timeout_next"))
    error(join(path, "timeout"), "missing field 'timeout' (required with 'timeout_next')");
}

void Parser::parse_branch(const json::object& o, const std::string& path, Step& s) {
  check_fields(o, {"type", "cases", "default"}, path);
  s.default_next = string_field(o, "default", path, true).value_or("");
  const std::string p = join(path, "cases");
  const json::value* v = o.if_contains("cases");
  if (!v) {
    error(p, "missing required field 'cases'");
    return;
  }
  if (!v->is_array() || v->get_array().empty()) {
    error(p, "expected non-empty array");
    return;
  }
  const json::array& a = v->get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string cp = index(p, i);
    const json::object* c = object_at(a[i], cp);
    if (!c) continue;
    check_fields(*c, {"when", "next"}, cp);
    BranchCase bc;
    bc.when = condition_field(*c, "when", cp, true);
    bc.next = string_field(*c, "next", cp, true).value_or("");
    s.cases.push_back(std::move(bc));
  }
}

void Parser::parse_split(const json::object& o, const std::string& path, Step& s) {
  check_fields(o, {"type", "variants"}, path);
  const std::string p = join(path, "variants");
  const json::value* v = o.if_contains("variants");
  if (!v) {
    error(p, "missing required field 'variants'");
    return;
  }
  if (!v->is_array() || v->get_array().empty()) {
    error(p, "expected non-empty array");
    return;
  }
  const json::array& a = v->get_array();
  std::set<std::string> names;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string vp = index(p, i);
    const json::object* vo = object_at(a[i], vp);
    if (!vo) continue;
    check_fields(*vo, {"name", "weight", "next"}, vp);
    SplitVariant sv;
    sv.name = string_field(*vo, "name", vp, true).value_or("");
    if (!sv.name.empty() && !names.insert(sv.name).second) {
      error(join(vp, "name"), "duplicate variant name '" + sv.name + "'");
    }
    const json::value* w = vo->if_contains("weight");
    if (!w) {
      error(join(vp, "weight"), "missing required field 'weight'");
    } else if ((!w->is_int64() && !w->is_uint64()) || w->to_number<double>() < 1 ||
               w->to_number<double>() > kSplitWeightMax) {
      error(join(vp, "weight"), "expected an integer from 1 to " + std::to_string(kSplitWeightMax));
    } else {
      sv.weight = static_cast<int>(w->to_number<int64_t>());
    }
    sv.next = string_field(*vo, "next", vp, true).value_or("");
    s.variants.push_back(std::move(sv));
  }
}

void Parser::parse_update(const json::object& o, const std::string& path, Step& s) {
  check_fields(o, {"type", "set", "next"}, path);
  s.next = string_field(o, "next", path, true).value_or("");
  const std::string p = join(path, "set");
  const json::value* v = o.if_contains("set");
  if (!v) {
    error(p, "missing required field 'set'");
    return;
  }
  if (!v->is_object() || v->get_object().empty()) {
    error(p, "expected non-empty object");
    return;
  }
  for (const auto& kv : v->get_object()) {
    if (!valid_dotted(kv.key(), {"traits."})) {
      error(join(p, kv.key()), "only traits.* can be set");
      continue;
    }
    s.set.emplace_back(std::string(kv.key()), kv.value());
  }
}

// The steps a step can move to, with the field each comes from.
std::vector<std::pair<std::string, std::string>> targets(const Step& s) {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](std::string field, const std::string& target) {
    if (!target.empty()) out.emplace_back(std::move(field), target);
  };
  add("next", s.next);
  add("timeout_next", s.timeout_next);
  for (size_t i = 0; i < s.cases.size(); ++i) add(index("cases", i) + ".next", s.cases[i].next);
  add("default", s.default_next);
  for (size_t i = 0; i < s.variants.size(); ++i) {
    add(index("variants", i) + ".next", s.variants[i].next);
  }
  return out;
}

void Parser::check_graph(const Journey& j) {
  check_targets(j);
  if (edges_known_ && j.steps.count(j.start)) check_reachable(j);
  check_wait_free_cycles(j);
}

void Parser::check_targets(const Journey& j) {
  for (const auto& [id, step] : j.steps) {
    for (const auto& [field, target] : targets(step)) {
      if (!j.steps.count(target)) {
        error(join(join("steps", id), field), "unknown step '" + target + "'");
      }
    }
  }
}

void Parser::check_reachable(const Journey& j) {
  std::set<std::string> seen{j.start};
  std::vector<std::string> todo{j.start};
  while (!todo.empty()) {
    const Step& s = j.steps.at(todo.back());
    todo.pop_back();
    for (const auto& t : targets(s)) {
      if (j.steps.count(t.second) && seen.insert(t.second).second) todo.push_back(t.second);
    }
  }
  for (const auto& kv : j.steps) {
    if (!seen.count(kv.first)) {
      error(join("steps", kv.first), "unreachable from start '" + j.start + "'");
    }
  }
}

bool is_wait(const Step& s) { return s.type == StepType::wait || s.type == StepType::wait_event; }

// Finds a path from `from` back to `goal` through non-wait steps not yet in
// `done`; `path` holds the walk. Depth-first in step-id order: deterministic.
bool find_cycle(const Journey& j, const std::string& from, const std::string& goal,
                std::set<std::string>& visiting, const std::set<std::string>& done,
                std::vector<std::string>& path) {
  for (const auto& t : targets(j.steps.at(from))) {
    const std::string& next = t.second;
    if (next == goal) return true;
    auto it = j.steps.find(next);
    if (it == j.steps.end() || is_wait(it->second) || done.count(next)) continue;
    if (!visiting.insert(next).second) continue;
    path.push_back(next);
    if (find_cycle(j, next, goal, visiting, done, path)) return true;
    path.pop_back();
  }
  return false;
}

// A cycle made only of non-wait steps would spin within one trigger. Steps are
// taken in id order; for each, one cycle through it that avoids the earlier
// steps is reported there, so each such cycle is named once, at its first step.
void Parser::check_wait_free_cycles(const Journey& j) {
  std::set<std::string> done;  // earlier steps: their cycles are already reported
  for (const auto& [id, step] : j.steps) {
    if (is_wait(step)) continue;
    std::set<std::string> visiting{id};
    std::vector<std::string> path{id};
    if (find_cycle(j, id, id, visiting, done, path)) {
      std::string text;
      for (const auto& p : path) text += p + " -> ";
      error(join("steps", id), "cycle with no wait: " + text + id);
    }
    done.insert(id);
  }
}

}  // namespace

JourneyPtr parse_journey(const json::value& v, const ValidationContext& ctx,
                         std::vector<ValidationError>& errors) {
  return Parser(ctx, errors).parse(v);
}

}  // namespace waymark
