// A validated Segment Spec message (PRODUCT.md §4). Parsing lives in
// src/events/event.cpp; the result is a plain struct the engine consumes.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "waymark/limits.hpp"
#include "waymark/result.hpp"
#include "waymark/time.hpp"

namespace waymark {

enum class EventType { identify, track, page, screen, group, alias };

const char* to_string(EventType t);

struct Event {
  EventType type = EventType::track;
  std::string user_id;       // may be empty
  std::string anonymous_id;  // may be empty
  std::string previous_id;   // alias only
  std::string message_id;    // may be empty (no dedup)
  std::string name;          // track: `event`; page/screen: `name` (may be empty)
  Millis timestamp = 0;      // event time (`timestamp`, else receive time)
  boost::json::object properties;
  boost::json::object traits;
  boost::json::object context;

  /// userId if present, else anonymousId (never empty for a valid event).
  const std::string& customer_key() const { return user_id.empty() ? anonymous_id : user_id; }

  /// The JSON shape templates and conditions see as `event.*` / `entry.*`:
  /// {"type","name","event","properties","traits","context","timestamp","messageId"}.
  boost::json::object to_json() const;
};

/// Parses one NDJSON line or HTTP event body. Errors (code, message):
/// too_large, bad_json, too_deep, not_object, bad_type, missing_field, wrong_type.
Result<Event> parse_event(std::string_view text, const Limits& limits, Millis received_at);

/// Same, for an already parsed value (HTTP batch items). `default_type` is used
/// when the object has no "type" (the /v1/<type> endpoints); empty = required.
Result<Event> event_from_json(const boost::json::value& v, Millis received_at,
                              std::string_view default_type = {});

}  // namespace waymark
