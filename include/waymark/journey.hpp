// Journey definitions (PRODUCT.md §7): the immutable model the engine runs.
// Parsing and validation live in src/journey/journey.cpp.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "waymark/condition.hpp"
#include "waymark/time.hpp"

namespace waymark {

enum class StepType { send, wait, wait_event, branch, split, update, jump, exit };
enum class ReentryMode { never, after_exit, always };

const char* to_string(StepType t);
const char* to_string(ReentryMode m);

struct BranchCase {
  ConditionPtr when;
  std::string next;
};

struct SplitVariant {
  std::string name;
  int weight = 0;  // > 0
  std::string next;
};

struct Step {
  std::string id;
  StepType type = StepType::exit;
  std::string next;  // send, wait, wait_event (on match), update; empty for exit/branch/split/jump
  // send
  std::string channel;
  std::string template_id;
  // wait
  Millis duration = 0;
  // wait_event
  std::string event;
  ConditionPtr when;  // optional filter on the awaited event
  Millis timeout = 0;
  std::string timeout_next;
  // branch
  std::vector<BranchCase> cases;
  std::string default_next;
  // split
  std::vector<SplitVariant> variants;
  // update: "traits.stage" -> "nudged" (only traits.* paths)
  std::vector<std::pair<std::string, boost::json::value>> set;
  // jump
  std::string journey;
};

struct ExitCriterion {
  std::string event;  // may be empty: then `when` alone (profile condition)
  ConditionPtr when;  // may be null when `event` is set
};

struct Goal {
  std::string event;
  ConditionPtr when;   // optional
  Millis within = 0;   // 0 = for the life of the instance
  std::string value_path;  // e.g. "properties.revenue" (of the goal event); may be empty
};

struct Journey {
  std::string id;
  std::string name;
  std::string owner;
  int version = 0;  // assigned at deploy (1, 2, ...); 0 until then
  // entry: event (+ optional when), or when alone (edge-triggered on profile change)
  std::string entry_event;
  ConditionPtr entry_when;
  std::string key_path;  // "" = one instance per customer; else e.g. "properties.cart_id"
  ReentryMode reentry = ReentryMode::after_exit;
  Millis cooldown = 0;
  std::vector<ExitCriterion> exits;
  std::optional<Goal> goal;
  Millis timeout = 0;  // 0 = none
  double holdout_percent = 0;  // "holdout": {"percent": P}, 0-50 (PRODUCT.md §10)
  std::string start;
  std::map<std::string, Step> steps;
  boost::json::object source;  // the deployed JSON, for the API
};

using JourneyPtr = std::shared_ptr<const Journey>;

/// What validation checks references against.
struct ValidationContext {
  std::set<std::string> channels;                           // configured channels
  std::function<bool(const std::string&)> template_exists;  // null = don't check
  /// Channel of a template, or "" when unknown (checked against the send step's channel).
  std::function<std::string(const std::string&)> template_channel;
  /// Why a `jump` may not go to this journey ("unknown journey 'x'", "journey
  /// 'x' is archived"), "" when it may; null = don't check. A jump to the
  /// journey being validated itself is never asked about.
  std::function<std::string(const std::string&)> jump_target_problem;
};

/// Parses and validates. Every problem is appended to `errors` with a path
/// ("steps.wait1.duration", "entry.when.op", "steps" ...); returns null when
/// there is at least one error. Rejects unknown fields and step types,
/// bad durations, missing or unknown `next` targets, unreachable steps,
/// cycles with no wait/wait_event on them, unknown channels or templates.
JourneyPtr parse_journey(const boost::json::value& v, const ValidationContext& ctx,
                         std::vector<ValidationError>& errors);

}  // namespace waymark
