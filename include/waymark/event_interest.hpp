// Which events the journeys of a catalog can react to (PRODUCT.md §10, final
// delivery statuses as events): a gateway records a "Message Delivered" /
// "Failed" / "Dead" event for its customer only when some journey could
// react to it, so a node whose journeys never name them does not run a
// second event through the customer for every delivery. Pure.
#pragma once

#include <set>
#include <string>

#include "waymark/engine.hpp"

namespace waymark {

struct EventInterest {
  /// Some journey reacts to events by a condition alone (an entry, goal or
  /// exit without an event name) that reads the event or counts events in a
  /// moving window: any event may matter. (A condition on traits alone does
  /// not: a track event changes no trait.)
  bool every = false;
  /// Entry, wait_event, goal, exit and counted (`count`) event names of every
  /// version of every journey (drafts and archived ones too), and the
  /// conversion events.
  std::set<std::string> names;

  bool wants(const std::string& name) const { return every || names.count(name) > 0; }
};

EventInterest event_interest(const Catalog& cat);

}  // namespace waymark
