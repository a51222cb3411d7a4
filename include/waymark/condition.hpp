// Journey conditions (PRODUCT.md §7): all/any/not, path comparisons, and
// counts over the customer's history window. Pure; no I/O.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "waymark/time.hpp"
#include "waymark/vec_deque.hpp"

namespace waymark {

struct ValidationError {
  std::string path;     // e.g. "steps.check.cases[0].when.op"
  std::string message;  // e.g. "unknown operator 'equals'"
};

enum class CmpOp { eq, ne, gt, gte, lt, lte, in, contains, starts_with, exists, not_exists };

struct Condition;
using ConditionPtr = std::shared_ptr<const Condition>;

struct Condition {
  enum class Kind { all, any, not_, compare, count };
  Kind kind = Kind::compare;
  std::vector<ConditionPtr> children;  // all/any: any number; not_: exactly one
  // compare: `path op value`; count: `count(event within where) op value`
  std::string path;
  CmpOp op = CmpOp::eq;
  boost::json::value value;
  // count only
  std::string count_event;
  Millis count_within = 0;  // 0 = whole history window
  ConditionPtr count_where;  // may be null; evaluated with event.* = the history entry
};

/// One remembered event of a customer (bounded window, newest last).
struct HistoryEntry {
  std::string name;  // event name for track; "page"/"screen"/"identify"... otherwise
  Millis at = 0;     // event time
  boost::json::object properties;
};

/// What a condition can see. Any pointer may be null (then paths under it
/// resolve to "no value": `exists` is false, comparisons are false).
struct EvalContext {
  const boost::json::object* traits = nullptr;      // traits.*
  const std::string* event_name = nullptr;          // event.name
  const boost::json::object* event_properties = nullptr;  // event.properties.*
  const boost::json::object* event_context = nullptr;     // event.context.*
  const VecDeque<HistoryEntry>* history = nullptr;        // for count
  Millis now = 0;
};

/// Parses a condition object. On error appends to `errors` (paths prefixed by
/// `path`) and returns null.
ConditionPtr parse_condition(const boost::json::value& v, const std::string& path,
                             std::vector<ValidationError>& errors);

bool evaluate(const Condition& c, const EvalContext& ctx);

/// Resolves "traits.a.b", "event.name", "event.properties.x", "event.context.y".
/// Returns null when absent. `name_holder` receives event.name as a json string.
const boost::json::value* resolve_path(const std::string& path, const EvalContext& ctx,
                                       boost::json::value& name_holder);

/// The comparison itself, shared by conditions and tests. Numbers compare as
/// doubles; strings lexicographically for gt/lt; type mismatch = false.
bool compare(const boost::json::value* lhs, CmpOp op, const boost::json::value& rhs);

}  // namespace waymark
