// The input log's two halves outside the store (store.hpp, "The input log"):
// how a customer's input is written into the log, and recovery, which
// replays logged inputs into the states they belong to and stores those
// states, so that every input is covered by a snapshot again.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "waymark/config.hpp"
#include "waymark/engine.hpp"
#include "waymark/result.hpp"
#include "waymark/store.hpp"

namespace waymark {

/// One input of a customer as logged: an event or a fired timer, with the
/// instant the engine ran it at and the catalog generation it ran against.
struct LoggedInput {
  enum Kind : char { event = 'e', timer = 't' } kind = event;
  Millis now = 0;
  uint64_t generation = 0;
  Event ev;              // kind event
  std::string timer_id;  // kind timer
};

/// kind(1) now(8) generation(8), then the event's JSON or the timer id.
std::string encode_event_input(const Event& e, Millis now, uint64_t generation);
std::string encode_timer_input(const std::string& timer_id, Millis now, uint64_t generation);
Result<LoggedInput> decode_input(std::string_view bytes);

/// Runs a logged input through the engine, as the customer actor did.
Decision apply_input(CustomerState& s, const Catalog& cat, const LoggedInput& in);

struct RecoveryReport {
  size_t customers = 0;  // states stored
  size_t inputs = 0;     // inputs replayed
  size_t skipped = 0;    // inputs not replayed (unreadable record or state; logged)
};

/// Replays the inputs not covered by snapshots (every customer's, or only
/// `only`'s) and commits the resulting states with their dedup keys. Writer
/// thread only (startup, or the store actor). `current` serves inputs whose
/// catalog generation has no stored sources.
Result<RecoveryReport> recover_log(Store& store, const Config& config, const CatalogPtr& current,
                                   const std::string* only = nullptr);

}  // namespace waymark
