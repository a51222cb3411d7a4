// Time vocabulary of the core: milliseconds since the Unix epoch, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace waymark {

using Millis = int64_t;  // ms since 1970-01-01T00:00:00Z, or a span in ms

/// Parses the journey duration forms "30s" "15m" "2h" "3d" "1w" (a positive
/// integer followed by exactly one unit). Returns nullopt for anything else,
/// including "0s", negative numbers, missing units, spaces and overflow.
std::optional<Millis> parse_duration(std::string_view text);

/// Formats as RFC 3339 UTC with milliseconds: "2026-11-22T10:00:00.000Z".
std::string format_rfc3339(Millis at);

/// Parses RFC 3339 / ISO 8601 date-times: "2026-11-22T10:00:00Z",
/// fractional seconds, "+02:00" offsets. nullopt when malformed.
std::optional<Millis> parse_rfc3339(std::string_view text);

}  // namespace waymark
