// Attribution over a stream (PRODUCT.md §10, GET /api/attribution): the
// conversions of a time range are fed one at a time with their customer's
// touches, so memory holds one customer's touches and the running credit,
// never the whole touch table. Markov keeps only transition counts.
//
// Accumulators of the same query merge by addition (merge()): each partition
// or node accumulates its own customers, the sum gives the same report as one
// accumulator over everything (per-customer paths never cross partitions).
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "waymark/outcomes/attribution.hpp"

namespace waymark::outcomes {

/// Markov transition counts: (from, to) -> n; from "" is the start state,
/// to kMarkovConversion / kMarkovNull the absorbing states.
using MarkovCounts = std::map<std::pair<std::string, std::string>, double>;
inline const std::string kMarkovConversion = "\x01conversion";
inline const std::string kMarkovNull = "\x01null";

/// Adds one path (groups in time order) to the counts; empty paths add nothing.
void add_path(MarkovCounts& counts, const std::vector<std::string>& groups, bool converted);

/// markov_shares over counted transitions (same result as over the paths).
Result<std::vector<std::pair<std::string, double>>> markov_shares(const MarkovCounts& counts);

/// The group a touch credits under `by` ("step" groups are "journey/step").
std::string group_of(const Touch& t, GroupBy by);

class AttributionStream {
public:
  explicit AttributionStream(AttributionQuery q) : q_(q) {}

  /// One conversion and touches of its customer (a superset of its lookback
  /// window is fine: the window is applied here). Conversions outside
  /// [from, to) are ignored.
  void add_conversion(const Conversion& c, const std::vector<Touch>& touches);
  /// Markov only: a customer with touches and no conversion in [from, to);
  /// its touches in [to - lookback, to) make a non-converting path.
  void add_non_converting(const std::vector<Touch>& touches);
  /// Adds another stream's partial sums (same query).
  void merge(const AttributionStream& other);
  /// The partial sums as JSON, what a cluster member answers for the member
  /// a client asked to merge: {"conversions", "unattributed", "credit":
  /// [[group, conversions, value]...], "transitions": [[from, to, n]...],
  /// "attributed_value"} (numbers as doubles round-trip exactly).
  boost::json::object partial_json() const;
  /// merge() of another stream's partial_json() (same query); false, and
  /// nothing added, when `v` is not such an object.
  bool merge_partial(const boost::json::value& v);
  /// The report; errors as attribute() ("too_many_groups" for markov).
  Result<AttributionReport> report() const;

  const AttributionQuery& query() const { return q_; }

private:
  AttributionQuery q_;
  int64_t conversions_ = 0;
  int64_t unattributed_ = 0;
  std::map<std::string, GroupCredit> credit_;  // rule-based models
  MarkovCounts transitions_;                   // markov
  double attributed_value_ = 0;                // markov
};

}  // namespace waymark::outcomes
