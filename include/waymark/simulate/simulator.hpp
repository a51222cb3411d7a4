// `waymark simulate` (PRODUCT.md §2, §11): events replayed offline through the
// node's engine on a virtual clock. Pure: no CAF, no store, no network, no
// system clock; deliveries go to a callback, counts are kept in memory.
//
// What it mirrors of the node (actors/customer.cpp, journey_manager.cpp):
// - events are parsed and validated as ingest does (parse_event), an event
//   without a timestamp takes the virtual clock's time;
// - routing by userId, else anonymousId, through alias redirects; an alias (or
//   an identify with both ids) first merges the other customer's state in
//   (merge_customer), then the event is applied; a duplicate messageId of the
//   same customer within limits.dedup_window_s is dropped after the merge;
// - on_event / on_timer / merge_customer decisions: deliveries, timers (a set
//   and a clear of one trigger: the timer is gone) and stat counters, keyed as
//   the store keys them, so journey_stats_json shows them like the node does.
//
// The virtual clock: events are applied in the order read, each at
// max(clock, its timestamp): the clock never goes back. An event older than
// the clock (out of order) is applied at the clock's time, like a node that
// receives it late, and keeps its own timestamp in the history (counted as
// `late`); events of one instant apply in file order. Before an event, every
// timer due at or before its time fires, in (due, customer, timer id) order,
// each at its own due time. Nothing passes `until`: an event after it is not
// applied (counted as `after_until`), and run_out stops there.
//
// Memory: one CustomerState per customer ever seen (bounded per customer by
// the limits: history, recent deliveries, instances) plus one heap entry per
// pending timer and the messageIds of the dedup window; the trace is cleared
// after every trigger (nothing reads it here). Deliveries are not kept.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "waymark/engine.hpp"
#include "waymark/result.hpp"

namespace waymark::simulate {

/// One year of virtual time: the default run after `start`.
constexpr Millis kDefaultSpan = 365LL * 86400 * 1000;

struct Options {
  std::optional<Millis> start;  // unset: the first event's timestamp (fallback_start when it has none)
  std::optional<Millis> until;  // unset: start + kDefaultSpan
  Millis fallback_start = 0;    // the caller's "now", used only as above
};

/// What happened to the lines fed in.
struct LineCounts {
  int64_t read = 0;         // non-empty lines
  int64_t applied = 0;      // events the engine saw
  int64_t invalid = 0;      // refused by the ingest validation
  int64_t duplicate = 0;    // same messageId of the same customer within the dedup window
  int64_t late = 0;         // timestamp before the clock: applied at the clock's time
  int64_t after_until = 0;  // not applied: past `until`
};

/// Per-journey counts: the store's counters and the §10 experiment counters.
struct JourneyTally {
  std::map<std::string, int64_t> counters;  // "version\0step\0counter" -> n, as Store::journey_stats
  /// The engine's ArmDelta summed as the store keeps them: (version, arm, counter)
  /// -> n, counters "entered", "converted", "value_micros" (outcomes/results.hpp).
  std::map<std::tuple<int, std::string, std::string>, int64_t> arms;
};

class Simulator {
public:
  using DeliverySink = std::function<void(const Delivery&)>;

  Simulator(CatalogPtr catalog, Options options, DeliverySink sink);

  /// Parses one NDJSON line and applies it. Empty lines (after trimming a
  /// trailing '\r' and blanks) are skipped. Returns the validation error of a
  /// refused line (counted `invalid`; nothing else changes).
  std::optional<Error> feed_line(std::string_view line);
  /// Applies one parsed event (see the header comment for the clock rules).
  void apply(const Event& e);
  /// Fires every timer due at or before t (at most `until`), each at its due
  /// time; the clock is then at t (never moved back).
  void advance_to(Millis t);
  /// Due time of the next pending timer, nullopt when none.
  std::optional<Millis> next_due();
  /// After the last event: runs the clock on until no timer is pending or
  /// `until`, whichever comes first.
  void run_out();

  /// The virtual clock (0 until the start is known).
  Millis now() const { return clock_; }
  bool started() const { return started_; }
  Millis start() const { return start_; }
  Millis until() const { return until_; }
  const LineCounts& lines() const { return lines_; }
  int64_t deliveries() const { return deliveries_; }
  int64_t timers_fired() const { return timers_fired_; }
  size_t timers_pending() const { return live_timers_.size(); }
  size_t customers() const { return customers_.size(); }
  const std::map<std::string, JourneyTally>& tally() const { return tally_; }
  const Catalog& catalog() const { return *catalog_; }
  /// A customer's state (tests), nullptr when never seen or merged away.
  const CustomerState* customer(const std::string& id) const;

  /// Everything counted, as one JSON object (the last line of the output):
  /// {"start","end","until","events":{LineCounts},"customers","deliveries",
  ///  "timers":{"fired","pending"},"journeys":{id:{journey stats...,"results"}}}.
  boost::json::object summary() const;

private:
  struct Customer {
    CustomerState s;
    std::unordered_map<std::string, Millis> seen;      // messageId -> when applied
    size_t seen_prune_at = 64;                          // prune the window when seen grows past this
  };
  struct Timer {
    Millis due = 0;
    std::string customer, id;
    bool operator>(const Timer& o) const {
      return std::tie(due, customer, id) > std::tie(o.due, o.customer, o.id);
    }
  };

  void start_at(Millis t);
  const std::string& resolve(const std::string& id) const;
  Customer& customer_for(const std::string& id);
  bool is_duplicate(Customer& c, const Event& e);
  void merge_into(Customer& into, const std::string& other);
  void fire(const Timer& t);
  void commit(Customer& c, Decision& d);

  CatalogPtr catalog_;
  Options options_;
  DeliverySink sink_;
  bool started_ = false;
  Millis start_ = 0, until_ = 0, clock_ = 0;
  std::unordered_map<std::string, Customer> customers_;
  std::unordered_map<std::string, std::string> redirects_;  // merged id -> customer it went into
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::unordered_set<std::string> live_timers_;  // customer \x1f timer id of every pending timer
  std::map<std::string, JourneyTally> tally_;
  LineCounts lines_;
  int64_t deliveries_ = 0;
  int64_t timers_fired_ = 0;
};

}  // namespace waymark::simulate
