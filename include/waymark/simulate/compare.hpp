// `waymark simulate --compare`: the same events through two journey sets, in
// lockstep on one virtual clock, with their deliveries matched.
//
// Two deliveries match when everything but the idempotency key and the
// journey version is equal (customer, channel, journey, key, step, template,
// to, content, at): ids name instances, and instance numbers shift when the
// sets differ. Deliveries are matched as soon as both clocks have passed their
// instant, so memory holds only one instant's deliveries, not the whole run.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "waymark/simulate/simulator.hpp"

namespace waymark::simulate {

enum class Side { a, b };

/// One counter of a journey in the two runs (null where a run has none).
struct CounterRow {
  std::string journey;
  std::string counter;  // path in the journey's summary: "steps.welcome.sent", "results.arms.ab:push.rate"
  boost::json::value a, b;
  bool differs() const { return a != b; }
};

/// Every numeric counter of `a` and `b` (Simulator::summary()["journeys"]),
/// journey by journey; by_version is left out (the totals say it).
std::vector<CounterRow> counter_rows(const boost::json::object& a, const boost::json::object& b);

class Comparison {
public:
  /// Called for each delivery that only one side made, in time order per flush.
  using DiffSink = std::function<void(Side, const Delivery&)>;

  Comparison(CatalogPtr a, CatalogPtr b, Options options, DiffSink sink);
  Comparison(const Comparison&) = delete;
  Comparison& operator=(const Comparison&) = delete;

  /// The line through both (the validation error once, when refused).
  std::optional<Error> feed_line(std::string_view line);
  /// Runs both clocks on, timer by timer, then matches what is left.
  void run_out();

  const Simulator& a() const { return a_; }
  const Simulator& b() const { return b_; }
  int64_t only_a() const { return only_a_; }
  int64_t only_b() const { return only_b_; }
  int64_t matched() const { return matched_; }

  /// {"a":summary,"b":summary,"differences":{"deliveries":{"only_a","only_b","matched"},
  ///  "counters":[{"journey","counter","a","b"}] (differing ones only)}}.
  boost::json::object summary() const;

private:
  /// Matches the pending deliveries made before `upto` (or at it, when `inclusive`).
  void flush(Millis upto, bool inclusive);

  DiffSink sink_;
  std::vector<Delivery> pending_a_, pending_b_;
  Simulator a_, b_;
  int64_t only_a_ = 0, only_b_ = 0, matched_ = 0;
};

}  // namespace waymark::simulate
