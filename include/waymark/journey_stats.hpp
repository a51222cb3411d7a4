// A journey's counters as shown by GET /api/journeys/{id} and `waymark
// journey ID`: totals, per step, per version, and conversions (goal count and
// value sum). Pure: built from the store's counters, no I/O.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <string>

namespace waymark {

/// `counters` as Store::journey_stats returns them (key "version\0step\0counter");
/// `versions` is the number of deployed versions (each gets an entry, zeros
/// included). Returns {"entered","active","exited":{reason:n},
/// "conversions":{"count","value"},"by_version":[{"version","entered","active",
/// "conversions":{"count","value"}}],"steps":{step:{counter:n,...,"active"}}}.
/// A step that sent messages also has "rates":{"open","click","bounce",
/// "complaint","unsubscribe"} = its "engagement" counters / "sent".
boost::json::object journey_stats_json(const std::map<std::string, int64_t>& counters, int versions);

}  // namespace waymark
