// JSON parsing with the nesting limits Waymark uses everywhere.
//
// Boost.JSON refuses documents nested deeper than 32 levels unless told
// otherwise, which is less than limits.json_depth_max (64 by default). Every
// parse goes through one of these two so that a document accepted at the edge
// is also readable when it comes back from LMDB inside a larger one (a customer
// state embeds events a few levels below their own nesting).
#pragma once

#include <boost/json/value.hpp>

#include <cstddef>
#include <string_view>
#include <system_error>

#include "waymark/result.hpp"

namespace waymark {

/// Highest value limits.json_depth_max may be configured to.
inline constexpr size_t kJsonDepthMaxBound = 1024;
/// Nesting allowed when reading back JSON Waymark wrote itself: twice the
/// highest input depth, so wrapping records never make stored data unreadable.
inline constexpr size_t kStoredJsonDepthMax = 2 * kJsonDepthMaxBound;

/// Parses JSON Waymark wrote (customer state, outbox records, journey versions).
boost::json::value parse_stored_json(std::string_view text, std::error_code& ec);

/// Parses untrusted input: nesting deeper than `depth_max` is refused (error
/// too_deep; the parser stops there, a deep document costs nothing more); a
/// syntax error (also a lone UTF-16 surrogate escape or invalid UTF-8) is
/// bad_json; anything the store could not read back is bad_number (see
/// check_storable). What this accepts serialises and parses back to itself.
Result<boost::json::value> parse_input_json(std::string_view text, size_t depth_max);

/// Refuses a value that would not survive a write and a parse_stored_json:
/// a number outside the double range (1e400, -1e400, 1.8e308, 309-digit
/// integers) parses to an infinite double, which serialises as `Infinity`.
/// Error bad_number, with the path of the first one ("properties.n", "a[2]").
/// parse_input_json applies it; call it on values built any other way.
Result<bool> check_storable(const boost::json::value& v);

}  // namespace waymark
