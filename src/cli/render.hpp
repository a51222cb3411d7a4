// Plain-text rendering for the CLI: aligned tables and tolerant value text.
#pragma once

#include <boost/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace waymark::cli {

using Row = std::vector<std::string>;

/// Columns left-aligned, two spaces apart, header in upper case. "(none)" when empty.
void print_table(std::ostream& out, const Row& header, const std::vector<Row>& rows);

/// Text of a field: "-" when missing or null, strings as they are, others as JSON.
std::string text(const boost::json::value* v);
std::string text(const boost::json::object& o, std::string_view key);
/// A time field: numbers are ms since the epoch (shown as RFC 3339), strings as they are.
std::string time_text(const boost::json::object& o, std::string_view key);
/// Integer field, 0 when missing or not a number.
int64_t number(const boost::json::object& o, std::string_view key);
/// The object at `key`, or an empty one.
const boost::json::object& object_at(const boost::json::object& o, std::string_view key);
/// The array at `key`, or an empty one.
const boost::json::array& array_at(const boost::json::object& o, std::string_view key);
/// Journey conversions {"count":3,"value":150} -> "3 (value 150)".
std::string conversions_text(const boost::json::object& conversions);
/// {"a":2,"b":1} -> "a=2 b=1"; "-" when empty.
std::string counts_text(const boost::json::object& o);

}  // namespace waymark::cli
