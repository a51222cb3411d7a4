// Builders for Segment Spec event lines (PRODUCT.md §4) and small JSON
// helpers shared by the integration tests.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>

namespace waymark::it {

/// {"type":"identify","userId":user,"traits":traits[,"messageId":id]}
std::string identify(const std::string& user, const boost::json::object& traits,
                     const std::string& message_id = "");
/// {"type":"track","userId":user,"event":event,"properties":props[,"messageId":id]}
std::string track(const std::string& user, const std::string& event, const boost::json::object& properties = {},
                  const std::string& message_id = "");

/// Parses JSON text; null on error.
boost::json::value parse_json(const std::string& text);
/// o[key] as a string ("" when absent or not a string).
std::string str_at(const boost::json::value& v, const std::string& key);
/// o[key] as an integer (`fallback` when absent or not an integer).
int64_t int_at(const boost::json::value& v, const std::string& key, int64_t fallback = -1);
/// o[key] as an array (empty when absent).
boost::json::array array_at(const boost::json::value& v, const std::string& key);
/// Follows a dotted path through objects ("profile.traits.email"); null when absent.
boost::json::value at_path(const boost::json::value& v, const std::string& dotted);

}  // namespace waymark::it
