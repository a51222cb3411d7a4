// Internals shared by the engine's translation units (engine.cpp,
// engine_send.cpp, engine_merge.cpp). Not a public interface: unit tests may
// include it to check the small pure helpers (idempotency key, quiet hours).
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "waymark/engine.hpp"

namespace waymark::engine_detail {

/// Everything one trigger (an event, a timer, a merge) works with, plus the
/// decision it builds. Lives on the stack of on_event / on_timer / merge.
struct Run {
  CustomerState& s;
  const Catalog& cat;
  Millis now = 0;
  const Event* event = nullptr;      // null on timers and merges
  std::string trigger;               // "event X" | "identify" | "timer t7" | "merge"
  Decision d;
  bool profile_changed = false;      // traits changed during this trigger
  // The value of the first goal this event reached (nullopt: none); with the
  // conversion events it makes the event's one conversion record.
  std::optional<double> goal_value;

  Run(CustomerState& state, const Catalog& catalog, Millis at) : s(state), cat(catalog), now(at) {}

private:
  mutable std::optional<boost::json::object> event_json_;

public:

  EvalContext eval() const;
  /// Event::to_json() of *event ({} without one), built on first use: only
  /// entries, instance keys, goal values and templates need it, and copying the
  /// event's objects for every event was ~9 % of the node's instructions.
  const boost::json::object& event_json() const;
  void trace(const std::string& journey, int version, const std::string& step, std::string what);
  void stat(const std::string& journey, int version, const std::string& step, std::string counter,
            int64_t n = 1);
  /// Adds to the journey's experiment counters of `arm`.
  void arm(const Instance& inst, std::string arm, int64_t entered, int64_t converted, double value = 0);
  std::string new_timer_id();
  /// Sets the instance's step timer (clearing a previous one first).
  void set_step_timer(Instance& inst, Millis due);
  /// Clears the instance's pending step timer, if any (not the one firing).
  void clear_step_timer(Instance& inst);
};

// ---- engine.cpp ----------------------------------------------------------------

Instance* find_instance(CustomerState& s, const std::string& id);
void exit_instance(Run& r, std::string instance_id, const std::string& reason);
/// Executes steps of the instance from its current step until it waits or ends.
/// `used` counts steps already executed for this trigger (jumps carry it over).
void run_steps(Run& r, const std::string& instance_id, size_t used = 0);
/// Checks pure-`when` exit criteria of every active instance (profile changed).
void sweep_profile_exits(Run& r);
/// Edge-triggered condition entries; updates s.entry_condition. While the
/// instances entered change the profile, exits and entries are checked again.
void check_condition_entries(Run& r);
void trim_trace(CustomerState& s, const Limits& limits);
void trim_history(CustomerState& s, const Limits& limits, Millis now);
std::string memo_key(const std::string& journey, const std::optional<std::string>& key);
/// Recomputes memo.active for (journey, key) from the live instances.
void refresh_memo_active(CustomerState& s, const std::string& journey,
                         const std::optional<std::string>& key);

/// Walks "a.b.c" through nested objects; null when absent.
const boost::json::value* json_path(const boost::json::object& root, std::string_view dotted);
/// Instance key of an event for `key_path`: "traits.*" reads the profile,
/// anything else the event JSON ("properties.cart_id"). Strings as is,
/// numbers/bools as JSON text; missing, null or "" -> nullopt.
std::optional<std::string> key_value(const std::string& key_path, const boost::json::object& event_json,
                                     const boost::json::object& traits);

// ---- engine_send.cpp -----------------------------------------------------------

enum class SendOutcome { done, deferred };
/// Runs the send rules for `step` (consent, address, template, cap, quiet
/// hours) and either produces a delivery, records a suppression (both: done,
/// continue to `next`) or defers the send to the end of the quiet window.
SendOutcome run_send(Run& r, Instance& inst, const Journey& j, const Step& step);

/// "d" + 32 lowercase hex digits of XXH3-128 over
/// customer \x1f instance \x1f step \x1f visits.
std::string idempotency_key(const std::string& customer, const std::string& instance,
                            const std::string& step, uint32_t visits);

/// When `now` lies inside the quiet window in time zone `tz_name` (IANA; bad
/// or empty = UTC), the UTC instant the window ends; else nullopt.
std::optional<Millis> quiet_hours_end(const QuietHours& q, const std::string& tz_name, Millis now);

}  // namespace waymark::engine_detail
