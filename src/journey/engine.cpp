// The journey engine (PRODUCT.md §7): pure functions over one customer's
// state. Called by the customer actor; the returned Decision is committed by
// the store together with the state. No I/O, no clock reads.
//
// Order of evaluation for one event (on_event):
//   1. profile: state id / timestamps; `identify` merges traits (null deletes).
//   2. history: the event is appended (by time) and the window trimmed.
//   3. active instances, in state order (instances entered by this event are
//      not among them):
//        a. journey archived -> exit "archived"; version gone -> "version_missing";
//        b. exit criteria: an `event` exit matches the track event (+ its `when`);
//           a `when`-only exit is a profile condition, evaluated on every event
//           with the already merged traits -> exit "exit_criteria";
//        c. goal: the track event matches goal.event (+ `when`) within `within`
//           of entry -> stats "goal"/"goal_value", exit "goal";
//        d. wait_event: the awaited track event (+ `when`) -> timeout timer
//           cleared, continue at `next`.
//      For keyed instances (exit, goal and wait_event alike, one rule:
//      event_applies_to) an event that carries a key value applies only to the
//      instance with that key; one without a key value applies to all of them.
//   4. event entries: every active journey whose entry.event is this track event
//      (no entry, of any kind, while a `when`-only exit criterion holds).
//   5. when traits changed (identify or `update` steps), `when`-only exit
//      criteria of every instance are checked again.
//   6. condition entries (entry.when alone): edge-triggered against
//      state.entry_condition, updated on every event.
// A timer (on_timer) runs the one instance owning it, then steps 5 and 6 when
// its steps changed traits.
#include <algorithm>
#include <cmath>
#include <xxhash.h>

#include "journey/engine_internal.hpp"
#include "waymark/engagement.hpp"
#include "waymark/outcomes/holdout.hpp"

namespace waymark {

namespace json = boost::json;
using namespace engine_detail;

const char* to_string(JourneyStatus s) {
  switch (s) {
    case JourneyStatus::active: return "active";
    case JourneyStatus::paused: return "paused";
    case JourneyStatus::archived: return "archived";
  }
  return "active";
}

namespace engine_detail {

// ---- Run helpers -------------------------------------------------------------------

const json::object& Run::event_json() const {
  if (!event_json_)
    event_json_ = event ? event->to_json() : json::object();
  return *event_json_;
}

EvalContext Run::eval() const {
  EvalContext c;
  c.traits = &s.traits;
  c.history = &s.history;
  c.now = now;
  if (event) {
    c.event_name = &event->name;
    c.event_properties = &event->properties;
    c.event_context = &event->context;
  }
  return c;
}

void Run::trace(const std::string& journey, int version, const std::string& step, std::string what) {
  s.trace.reserve_bounded(cat.limits.trace_entries_max);  // a full trace: one exact buffer
  s.trace.push_back(TraceEntry{now, trigger, journey, version, step, std::move(what)});
  trim_trace(s, cat.limits);
}

void Run::stat(const std::string& journey, int version, const std::string& step, std::string counter,
               int64_t n) {
  d.stats.push_back(StatDelta{journey, version, step, std::move(counter), n});
}

void Run::arm(const Instance& inst, std::string arm, int64_t entered, int64_t converted, double value) {
  d.arms.push_back(ArmDelta{inst.journey, inst.version, std::move(arm), entered, converted, value});
}

std::string Run::new_timer_id() { return "t" + std::to_string(s.next_seq++); }

void Run::set_step_timer(Instance& inst, Millis due) {
  clear_step_timer(inst);
  inst.timer_id = new_timer_id();
  inst.timer_due = due;
  d.timers_set.push_back(TimerRef{due, inst.timer_id});
}

void Run::clear_step_timer(Instance& inst) {
  if (inst.timer_id.empty())
    return;
  d.timers_cleared.push_back(TimerRef{inst.timer_due, inst.timer_id});
  inst.timer_id.clear();
  inst.timer_due = 0;
}

// ---- small helpers -------------------------------------------------------------------

Instance* find_instance(CustomerState& s, const std::string& id) {
  for (auto& inst : s.instances)
    if (inst.id == id)
      return &inst;
  return nullptr;
}

std::string memo_key(const std::string& journey, const std::optional<std::string>& key) {
  return journey + '\x1f' + key.value_or("");
}

void refresh_memo_active(CustomerState& s, const std::string& journey,
                         const std::optional<std::string>& key) {
  auto it = s.memo.find(memo_key(journey, key));
  if (it == s.memo.end())
    return;
  it->second.active = std::any_of(s.instances.begin(), s.instances.end(), [&](const Instance& i) {
    return i.journey == journey && i.key == key;
  });
}

void trim_trace(CustomerState& s, const Limits& limits) {
  while (s.trace.size() > limits.trace_entries_max)
    s.trace.pop_front();
}

void trim_history(CustomerState& s, const Limits& limits, Millis now) {
  const Millis oldest = now - limits.history_age_s * 1000;
  s.history.erase(std::remove_if(s.history.begin(), s.history.end(),
                                 [&](const HistoryEntry& h) { return h.at < oldest; }),
                  s.history.end());
  while (s.history.size() > limits.history_events_max)
    s.history.pop_front();
}

const json::value* json_path(const json::object& root, std::string_view dotted) {
  const json::object* obj = &root;
  const json::value* v = nullptr;
  while (true) {
    size_t dot = dotted.find('.');
    std::string_view part = dotted.substr(0, dot);
    auto it = obj->find(part);
    if (it == obj->end())
      return nullptr;
    v = &it->value();
    if (dot == std::string_view::npos)
      return v;
    if (!v->is_object())
      return nullptr;
    obj = &v->get_object();
    dotted.remove_prefix(dot + 1);
  }
}

std::optional<std::string> key_value(const std::string& key_path, const json::object& event_json,
                                     const json::object& traits) {
  const json::value* v = nullptr;
  const std::string_view path(key_path);
  if (path.substr(0, 7) == "traits.")
    v = json_path(traits, path.substr(7));
  else
    v = json_path(event_json, path);
  if (!v || v->is_null())
    return std::nullopt;
  std::string out = v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
  if (out.empty())
    return std::nullopt;
  return out;
}

namespace {

bool holds(const ConditionPtr& c, const EvalContext& ctx) { return !c || evaluate(*c, ctx); }

bool is_track(const Run& r) { return r.event && r.event->type == EventType::track; }

/// Journey definition of an instance, or null with the exit reason.
const Journey* definition(const Catalog& cat, const Instance& inst, std::string& reason) {
  auto it = cat.journeys.find(inst.journey);
  if (it == cat.journeys.end()) {
    reason = "version_missing";
    return nullptr;
  }
  if (it->second.status == JourneyStatus::archived) {
    reason = "archived";
    return nullptr;
  }
  JourneyPtr j = it->second.version(inst.version);
  if (!j) {
    reason = "version_missing";
    return nullptr;
  }
  return j.get();
}

/// Whether the current event may end, convert or wake `inst` (exit, goal,
/// wait_event): in a keyed journey an event that carries a key value applies
/// only to the instance with that key; one without a key value applies to every
/// instance of the customer.
bool event_applies_to(const Run& r, const Journey& j, const Instance& inst) {
  if (j.key_path.empty() || !inst.key)
    return true;
  auto k = key_value(j.key_path, r.event_json(), r.s.traits);
  return !k || *k == *inst.key;
}

/// Sets traits at "traits.a.b" (nested objects created); null erases.
void set_trait(json::object& traits, std::string_view path, const json::value& v) {
  if (path.substr(0, 7) == "traits.")
    path.remove_prefix(7);
  json::object* obj = &traits;
  for (size_t dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.')) {
    json::value& child = (*obj)[path.substr(0, dot)];
    if (!child.is_object())
      child = json::object();
    obj = &child.get_object();
    path.remove_prefix(dot + 1);
  }
  if (v.is_null())
    obj->erase(path);
  else
    (*obj)[path] = v;
}

// ---- entries ---------------------------------------------------------------------------

/// A `when`-only exit criterion of `j` that holds now, if any.
bool profile_exit_holds(const Run& r, const Journey& j) {
  const EvalContext ctx = r.eval();
  for (const auto& ex : j.exits)
    if (ex.event.empty() && ex.when && evaluate(*ex.when, ctx))
      return true;
  return false;
}

enum class EntryCause { event, condition, jump };

/// The newest entry into `journey` under any key (memo keys are
/// "journey\x1fkey", so they are one range of the map); nullopt before the first.
std::optional<Millis> last_entry(const CustomerState& s, const std::string& journey) {
  std::optional<Millis> newest;
  const std::string prefix = journey + '\x1f';
  for (auto it = s.memo.lower_bound(prefix); it != s.memo.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it)
    newest = std::max(newest.value_or(it->second.last_entered), it->second.last_entered);
  return newest;
}

/// Refusal reason of the re-entry rules, or "" when the entry is allowed.
std::string reentry_refusal(const CustomerState& s, const Journey& j, const std::optional<std::string>& key,
                            Millis now) {
  auto it = s.memo.find(memo_key(j.id, key));
  // A memo exists only once (journey, key) was entered: last_entered may be 0
  // for an entry at the epoch (a manual clock can be set there).
  const bool entered_before = it != s.memo.end();
  const bool active = std::any_of(s.instances.begin(), s.instances.end(), [&](const Instance& i) {
    return i.journey == j.id && i.key == key;
  });
  if (j.reentry == ReentryMode::never && (entered_before || active))
    return "reentry_never";
  if (j.reentry == ReentryMode::after_exit && active)
    return "already_active";
  // The cooldown is per customer and journey, whatever the key.
  if (j.cooldown > 0) {
    const std::optional<Millis> last = last_entry(s, j.id);
    if (last && now - *last < j.cooldown)
      return "cooldown";
  }
  return "";
}

/// A held-out entrant (PRODUCT.md §10): it follows no step and gets no
/// message; it stays, at no step, until its goal, its timeout or the end of
/// the goal's `within` (a step timer), and leaves at once when the journey
/// has neither a goal nor a timeout (nothing to wait for).
void hold_out(Run& r, const Journey& j, Instance inst) {
  inst.step.clear();
  r.trace(j.id, j.version, "", "holdout");
  const std::string id = inst.id;
  const bool waits = j.goal || j.timeout > 0;
  if (j.goal && j.goal->within > 0) {
    inst.timer_id = r.new_timer_id();
    inst.timer_due = r.now + j.goal->within;
    r.d.timers_set.push_back(TimerRef{inst.timer_due, inst.timer_id});
  }
  r.s.instances.push_back(std::move(inst));
  if (!waits)
    exit_instance(r, id, "holdout");
}

/// Enters the latest version of `journey_id` when allowed; runs its first steps.
void try_enter(Run& r, const std::string& journey_id, const json::object& entry, EntryCause cause,
               size_t used) {
  auto it = r.cat.journeys.find(journey_id);
  if (it == r.cat.journeys.end() || !it->second.latest()) {
    if (cause == EntryCause::jump)
      r.trace(journey_id, 0, "", "not entered: unknown_journey");
    return;
  }
  const Journey& j = *it->second.latest();
  const bool traced = cause != EntryCause::condition;
  if (it->second.status != JourneyStatus::active) {
    if (cause == EntryCause::jump)
      r.trace(j.id, j.version, "", std::string("not entered: ") + to_string(it->second.status));
    return;
  }
  std::optional<std::string> key;
  if (!j.key_path.empty()) {
    key = key_value(j.key_path, entry, r.s.traits);
    if (!key) {
      if (traced)
        r.trace(j.id, j.version, "", "not entered: missing_key");
      return;
    }
  }
  std::string refusal = reentry_refusal(r.s, j, key, r.now);
  // Exit criteria are checked on every event: a customer who meets them
  // already would only be sent the first steps (and re-entry is not used up).
  if (refusal.empty() && profile_exit_holds(r, j))
    refusal = "exit_criteria";
  if (!refusal.empty()) {
    if (traced)
      r.trace(j.id, j.version, "", "not entered: " + refusal);
    return;
  }
  Instance inst;
  const uint64_t seq = r.s.next_seq++;
  inst.id = j.id + "@" + std::to_string(j.version) + "#" + std::to_string(seq);
  inst.journey = j.id;
  inst.version = j.version;
  inst.key = key;
  inst.step = j.start;
  inst.entered_at = r.now;
  inst.step_since = r.now;
  inst.entry = entry;
  if (j.timeout > 0) {
    inst.timeout_timer_id = r.new_timer_id();
    inst.timeout_due = r.now + j.timeout;
    r.d.timers_set.push_back(TimerRef{inst.timeout_due, inst.timeout_timer_id});
  }
  EntryMemo& m = r.s.memo[memo_key(j.id, key)];
  m.last_entered = r.now;
  m.active = true;
  r.stat(j.id, j.version, "", "entered");
  inst.holdout = j.holdout_percent > 0 && outcomes::held_out(r.s.id, j.id, j.holdout_percent);
  r.arm(inst, inst.holdout ? "holdout" : "treated", 1, 0);
  if (inst.holdout)
    return hold_out(r, j, std::move(inst));
  r.trace(j.id, j.version, j.start, "entered");
  const std::string id = inst.id;
  r.s.instances.push_back(std::move(inst));
  run_steps(r, id, used);
}

void check_event_entries(Run& r) {
  if (!is_track(r))
    return;
  const EvalContext ctx = r.eval();
  for (const auto& [id, entry] : r.cat.journeys) {
    JourneyPtr j = entry.latest();
    if (!j || j->entry_event.empty() || j->entry_event != r.event->name)
      continue;
    if (entry.status != JourneyStatus::active || !holds(j->entry_when, ctx))
      continue;
    try_enter(r, id, r.event_json(), EntryCause::event, 0);
  }
}

// ---- steps -----------------------------------------------------------------------------

/// Moves the instance to `next` (an empty target ends it as completed). The
/// step left is counted ("left"), so per-step "active now" is
/// visited - left - exited at that step.
void go_to(Run& r, Instance& inst, const std::string& next) {
  if (!inst.step.empty())
    r.stat(inst.journey, inst.version, inst.step, "left");
  inst.step = next;
  inst.step_since = r.now;
}

const std::string& choose_branch(Run& r, const Instance& inst, const Step& st) {
  const EvalContext ctx = r.eval();
  for (size_t i = 0; i < st.cases.size(); ++i) {
    if (holds(st.cases[i].when, ctx)) {
      r.trace(inst.journey, inst.version, st.id, "case " + std::to_string(i) + " matched");
      return st.cases[i].next;
    }
  }
  r.trace(inst.journey, inst.version, st.id, "default");
  return st.default_next;
}

/// Remembers the variant the instance took at `st` and counts its entry into
/// that arm (once per instance: a loop back through the split takes the same
/// variant, the hash being the same).
void take_variant(Run& r, Instance& inst, const Step& st, const std::string& variant) {
  for (const auto& [step, v] : inst.variants)
    if (step == st.id)
      return;
  inst.variants.emplace_back(st.id, variant);
  r.arm(inst, st.id + ":" + variant, 1, 0);
}

const std::string& choose_variant(Run& r, Instance& inst, const Step& st) {
  static const std::string none;
  int64_t total = 0;
  for (const auto& v : st.variants)
    total += std::max(v.weight, 0);
  if (total <= 0)
    return none;
  const std::string seed = r.s.id + '\x1f' + inst.journey + '\x1f' + st.id;
  int64_t pick = static_cast<int64_t>(XXH64(seed.data(), seed.size(), 0) % static_cast<uint64_t>(total));
  for (const auto& v : st.variants) {
    pick -= std::max(v.weight, 0);
    if (pick < 0) {
      r.trace(inst.journey, inst.version, st.id, "variant " + v.name);
      take_variant(r, inst, st, v.name);
      return v.next;
    }
  }
  return none;
}

enum class StepResult { next, stop };

/// Executes one step; `inst` may be gone (exited) when this returns stop.
StepResult execute_step(Run& r, Instance& inst, const Journey& j, const Step& st, size_t used) {
  switch (st.type) {
    case StepType::send:
      if (run_send(r, inst, j, st) == SendOutcome::deferred)
        return StepResult::stop;
      go_to(r, inst, st.next);
      return StepResult::next;
    case StepType::wait:
      r.set_step_timer(inst, r.now + st.duration);
      r.trace(inst.journey, inst.version, st.id, "waiting until " + format_rfc3339(inst.timer_due));
      return StepResult::stop;
    case StepType::wait_event:
      if (st.timeout > 0) {
        r.set_step_timer(inst, r.now + st.timeout);
        r.trace(inst.journey, inst.version, st.id, "waiting until " + format_rfc3339(inst.timer_due));
      } else {
        r.trace(inst.journey, inst.version, st.id, "waiting for " + st.event);
      }
      return StepResult::stop;
    case StepType::branch:
      go_to(r, inst, choose_branch(r, inst, st));
      return StepResult::next;
    case StepType::split:
      go_to(r, inst, choose_variant(r, inst, st));
      return StepResult::next;
    case StepType::update:
      for (const auto& [path, value] : st.set)
        set_trait(r.s.traits, path, value);
      r.profile_changed = true;
      if (profile_exit_holds(r, j)) {
        exit_instance(r, inst.id, "exit_criteria");
        return StepResult::stop;
      }
      go_to(r, inst, st.next);
      return StepResult::next;
    case StepType::jump: {
      const json::object entry = inst.entry;
      const std::string target = st.journey;
      exit_instance(r, inst.id, "jump");
      try_enter(r, target, entry, EntryCause::jump, used);
      return StepResult::stop;
    }
    case StepType::exit:
      exit_instance(r, inst.id, "completed");
      return StepResult::stop;
  }
  return StepResult::stop;
}

// ---- per-instance event handling ------------------------------------------------------

bool matches_exit_event(const Run& r, const Journey& j, const Instance& inst, const EvalContext& ctx) {
  for (const auto& ex : j.exits) {
    if (ex.event.empty()) {
      if (ex.when && evaluate(*ex.when, ctx))
        return true;
    } else if (is_track(r) && r.event->name == ex.event && holds(ex.when, ctx) &&
               event_applies_to(r, j, inst)) {
      return true;
    }
  }
  return false;
}

/// Goal reached by the current event: records stats and returns true.
bool reach_goal(Run& r, const Journey& j, const Instance& inst, const EvalContext& ctx) {
  if (!j.goal || !is_track(r) || r.event->name != j.goal->event)
    return false;
  if (!holds(j.goal->when, ctx) || !event_applies_to(r, j, inst))
    return false;
  if (j.goal->within > 0 && r.now - inst.entered_at > j.goal->within)
    return false;
  r.stat(inst.journey, inst.version, "", "goal");
  double value = 0;
  if (!j.goal->value_path.empty()) {
    const json::value* v = json_path(r.event_json(), j.goal->value_path);
    if (v && v->is_number()) {
      value = v->to_number<double>();
      r.stat(inst.journey, inst.version, "", "goal_value", std::llround(value));
    }
  }
  r.arm(inst, inst.holdout ? "holdout" : "treated", 0, 1, value);
  for (const auto& [step, variant] : inst.variants)
    r.arm(inst, step + ":" + variant, 0, 1, value);
  if (!r.goal_value)
    r.goal_value = value;
  r.trace(inst.journey, inst.version, inst.step, "goal " + j.goal->event);
  return true;
}

bool awaited_event(const Run& r, const Journey& j, const Instance& inst, const Step& st,
                   const EvalContext& ctx) {
  if (st.type != StepType::wait_event || !is_track(r) || r.event->name != st.event)
    return false;
  return holds(st.when, ctx) && event_applies_to(r, j, inst);
}

void handle_instance_event(Run& r, const std::string& id) {
  Instance* inst = find_instance(r.s, id);
  if (!inst)
    return;
  std::string reason;
  const Journey* j = definition(r.cat, *inst, reason);
  if (!j) {
    exit_instance(r, id, reason);
    return;
  }
  const EvalContext ctx = r.eval();
  if (matches_exit_event(r, *j, *inst, ctx)) {
    exit_instance(r, id, "exit_criteria");
    return;
  }
  if (reach_goal(r, *j, *inst, ctx)) {
    exit_instance(r, id, "goal");
    return;
  }
  auto st = j->steps.find(inst->step);
  if (st != j->steps.end() && awaited_event(r, *j, *inst, st->second, ctx)) {
    r.clear_step_timer(*inst);
    r.trace(inst->journey, inst->version, inst->step, "received " + r.event->name);
    go_to(r, *inst, st->second.next);
    run_steps(r, id);
  }
}

/// The event's one conversion record (PRODUCT.md §10), if it is one: a
/// conversion event (value at the configured path) or a goal reached (the
/// first goal's value); an event that is both counts once, with the
/// conversion event's value.
void record_conversion(Run& r, const Event& e) {
  if (e.type != EventType::track)
    return;
  const auto& names = r.cat.conversion_events;
  const bool named = std::find(names.begin(), names.end(), e.name) != names.end();
  if (!named && !r.goal_value)
    return;
  double value = named ? 0 : *r.goal_value;
  if (named && !r.cat.conversion_value_path.empty()) {
    // "properties.x" is read from the event's properties directly (no event DOM).
    const std::string_view path = r.cat.conversion_value_path;
    const json::value* v = path.substr(0, 11) == "properties."
                             ? json_path(e.properties, path.substr(11))
                             : json_path(r.event_json(), path);
    value = v && v->is_number() ? v->to_number<double>() : 0;
  }
  r.d.conversions.push_back(outcomes::Conversion{r.s.id, e.name, value, e.timestamp});
}

std::string trigger_of(const Event& e) {
  if (e.type == EventType::track)
    return "event " + e.name;
  return to_string(e.type);
}

void merge_identify_traits(Run& r, const Event& e) {
  if (e.type != EventType::identify || e.traits.empty())
    return;
  for (const auto& kv : e.traits) {
    if (kv.value().is_null())
      r.s.traits.erase(kv.key());
    else
      r.s.traits[kv.key()] = kv.value();
  }
  r.profile_changed = true;
}

void append_history(Run& r, const Event& e) {
  HistoryEntry h;
  h.name = e.type == EventType::track ? e.name : std::string(to_string(e.type));
  h.at = e.timestamp;
  h.properties = e.properties;
  r.s.history.reserve_bounded(r.cat.limits.history_events_max);  // before `pos`: it may reallocate
  auto pos = std::upper_bound(r.s.history.begin(), r.s.history.end(), h.at,
                              [](Millis at, const HistoryEntry& x) { return at < x.at; });
  r.s.history.insert(pos, std::move(h));
  trim_history(r.s, r.cat.limits, r.now);
}

std::vector<std::string> instance_ids(const CustomerState& s) {
  std::vector<std::string> ids;
  ids.reserve(s.instances.size());
  for (const auto& i : s.instances)
    ids.push_back(i.id);
  return ids;
}

/// Steps 5 and 6 of the evaluation order, then bookkeeping common to all triggers.
void finish(Run& r, bool condition_entries) {
  if (r.profile_changed)
    sweep_profile_exits(r);
  if (condition_entries || r.profile_changed)
    check_condition_entries(r);
  if (r.s.created_at == 0)
    r.s.created_at = r.now;
  r.s.updated_at = r.now;
  r.d.changed = true;
}

}  // namespace

// ---- shared entry points of the engine internals --------------------------------------

void exit_instance(Run& r, std::string instance_id, const std::string& reason) {
  auto it = std::find_if(r.s.instances.begin(), r.s.instances.end(),
                         [&](const Instance& i) { return i.id == instance_id; });
  if (it == r.s.instances.end())
    return;
  Instance inst = std::move(*it);
  r.s.instances.erase(it);
  r.clear_step_timer(inst);
  if (!inst.timeout_timer_id.empty())
    r.d.timers_cleared.push_back(TimerRef{inst.timeout_due, inst.timeout_timer_id});
  EntryMemo& m = r.s.memo[memo_key(inst.journey, inst.key)];
  m.last_exited = r.now;
  refresh_memo_active(r.s, inst.journey, inst.key);
  r.stat(inst.journey, inst.version, inst.step, "exited:" + reason);
  r.trace(inst.journey, inst.version, inst.step, "exited: " + reason);
}

void run_steps(Run& r, const std::string& instance_id, size_t used) {
  while (Instance* inst = find_instance(r.s, instance_id)) {
    std::string reason;
    const Journey* j = definition(r.cat, *inst, reason);
    if (!j)
      return exit_instance(r, instance_id, reason);
    auto st = j->steps.find(inst->step);
    if (st == j->steps.end())  // an empty `next` ends the instance as completed
      return exit_instance(r, instance_id, inst->step.empty() ? "completed" : "unknown_step");
    if (++used > r.cat.limits.steps_per_event_max) {
      r.trace(inst->journey, inst->version, inst->step,
              "loop guard: more than " + std::to_string(r.cat.limits.steps_per_event_max) + " steps");
      return exit_instance(r, instance_id, "loop_guard");
    }
    inst->visits++;
    r.stat(inst->journey, inst->version, inst->step, "visited");
    if (execute_step(r, *inst, *j, st->second, used) == StepResult::stop)
      return;
  }
}

void sweep_profile_exits(Run& r) {
  for (const std::string& id : instance_ids(r.s)) {
    Instance* inst = find_instance(r.s, id);
    if (!inst)
      continue;
    std::string reason;
    const Journey* j = definition(r.cat, *inst, reason);
    if (j && profile_exit_holds(r, *j))
      exit_instance(r, id, "exit_criteria");
  }
}

namespace {

/// One pass of edge-triggered condition entries over every journey.
void enter_on_conditions(Run& r) {
  const EvalContext ctx = r.eval();
  for (const auto& [id, entry] : r.cat.journeys) {
    JourneyPtr j = entry.latest();
    if (!j || !j->entry_event.empty() || !j->entry_when)
      continue;
    const bool now_true = evaluate(*j->entry_when, ctx);
    bool& last = r.s.entry_condition[id];
    const bool rising = now_true && !last;
    last = now_true;
    if (rising && entry.status == JourneyStatus::active)
      try_enter(r, id, json::object(), EntryCause::condition, 0);
  }
}

}  // namespace

void check_condition_entries(Run& r) {
  // Instances entered here may change the profile at once (update steps): then
  // exits and condition entries are checked again (bounded: one round more
  // than there are journeys, in case updates keep toggling conditions).
  bool changed = r.profile_changed;
  for (size_t round = 0; round <= r.cat.journeys.size(); ++round) {
    r.profile_changed = false;
    enter_on_conditions(r);
    if (!r.profile_changed)
      break;
    changed = true;
    sweep_profile_exits(r);
  }
  r.profile_changed = changed;
}

}  // namespace engine_detail

// ---- public API ------------------------------------------------------------------------

Decision on_event(CustomerState& s, const Catalog& cat, const Event& e, Millis now) {
  Run r(s, cat, now);
  r.event = &e;
  r.trigger = trigger_of(e);
  if (s.id.empty())
    s.id = e.customer_key();
  merge_identify_traits(r, e);
  append_history(r, e);
  // Reactions to a message (PRODUCT.md §10) count at the step that sent it.
  if (auto c = engagement::step_count(e); c && cat.journeys.count(c->journey))
    r.stat(c->journey, c->version, c->step, c->counter);
  for (const std::string& id : instance_ids(s))
    handle_instance_event(r, id);
  check_event_entries(r);
  record_conversion(r, e);
  finish(r, true);
  return std::move(r.d);
}

Decision on_timer(CustomerState& s, const Catalog& cat, const std::string& timer_id, Millis now) {
  auto it = std::find_if(s.instances.begin(), s.instances.end(), [&](const Instance& i) {
    return i.timer_id == timer_id || i.timeout_timer_id == timer_id;
  });
  if (timer_id.empty() || it == s.instances.end())
    return Decision{};
  Run r(s, cat, now);
  r.trigger = "timer " + timer_id;
  const std::string id = it->id;
  std::string reason;
  const Journey* j = definition(cat, *it, reason);
  if (it->timeout_timer_id == timer_id) {
    it->timeout_timer_id.clear();  // fired: the store removes it, nothing to clear
    exit_instance(r, id, j ? "timeout" : reason);
  } else if (!j) {
    it->timer_id.clear();
    exit_instance(r, id, reason);
  } else if (it->holdout) {
    it->timer_id.clear();  // the goal's window ended
    exit_instance(r, id, "holdout");
  } else {
    it->timer_id.clear();
    it->timer_due = 0;
    auto st = j->steps.find(it->step);
    if (st == j->steps.end()) {
      exit_instance(r, id, "unknown_step");
    } else if (st->second.type == StepType::send) {
      // deferred by quiet hours: the same visit, re-checked and sent now
      if (run_send(r, *it, *j, st->second) == SendOutcome::done) {
        go_to(r, *it, st->second.next);
        run_steps(r, id);
      }
    } else {
      const bool timed_out = st->second.type == StepType::wait_event;
      if (timed_out)
        r.trace(it->journey, it->version, it->step, "timed out");
      go_to(r, *it, timed_out ? st->second.timeout_next : st->second.next);
      run_steps(r, id);
    }
  }
  finish(r, false);
  return std::move(r.d);
}

}  // namespace waymark
