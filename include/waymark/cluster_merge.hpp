// Merging what cluster members answer for one admin read (PRODUCT.md §9:
// "Admin reads answer for the whole cluster from any node"). Pure code over
// JSON values; the actors only gather the parts.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <string>

namespace waymark::cluster {

/// Adds `part` into `total`: numbers at the same path are summed (integers
/// stay integers), objects merge recursively, keys only in `part` are copied,
/// other values (strings, arrays) keep `total`'s.
void add_numbers(boost::json::object& total, const boost::json::object& part);

/// Journey counters ("version\0step\0counter" -> n, as Store::journey_stats
/// returns them) as JSON and back; parts from several members are summed.
boost::json::object counters_json(const std::map<std::string, int64_t>& counters);
/// Adds the counters of a JSON object made by counters_json into `total`;
/// false when it is not such an object (nothing is added then).
bool add_counters(std::map<std::string, int64_t>& total, const boost::json::value& part);

}  // namespace waymark::cluster
