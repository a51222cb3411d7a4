// Time vocabulary of the core: milliseconds since the Unix epoch, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace waymark {

using Millis = int64_t;  // ms since 1970-01-01T00:00:00Z, or a span in ms

/// The instants Waymark accepts from outside (event times, the manual clock):
/// years 0001-9999 in UTC, the range format_rfc3339 writes in a form
/// parse_rfc3339 reads back.
inline constexpr Millis kTimeMin = -62135596800000;  // 0001-01-01T00:00:00.000Z
inline constexpr Millis kTimeMax = 253402300799999;  // 9999-12-31T23:59:59.999Z

/// Longest duration a journey, a condition window or a config key accepts
/// (100 years): keeps `now ± duration` far from overflow for any accepted now.
inline constexpr Millis kDurationMax = 36525LL * 86400 * 1000;

/// `at + span` when both the sum does not overflow and it stays within
/// [kTimeMin, kTimeMax]; nullopt otherwise.
std::optional<Millis> add_time(Millis at, Millis span);

/// Parses the journey duration forms "30s" "15m" "2h" "3d" "1w" (a positive
/// integer followed by exactly one unit). Returns nullopt for anything else,
/// including "0s", negative numbers, missing units, spaces and overflow.
std::optional<Millis> parse_duration(std::string_view text);

/// Formats as RFC 3339 UTC with milliseconds: "2026-11-22T10:00:00.000Z".
std::string format_rfc3339(Millis at);

/// Parses RFC 3339 / ISO 8601 date-times: "2026-11-22T10:00:00Z",
/// fractional seconds, "+02:00" offsets. nullopt when malformed or when the
/// instant, as UTC (after the offset), is outside [kTimeMin, kTimeMax]
/// ("9999-12-31T23:59:59-01:00" is in year 10000).
std::optional<Millis> parse_rfc3339(std::string_view text);

}  // namespace waymark
