#include "waymark/event_interest.hpp"

namespace waymark {

namespace {

/// The events a condition counts (count(event ...)), at any depth.
void add_counted(const ConditionPtr& c, std::set<std::string>& names) {
  if (!c)
    return;
  if (c->kind == Condition::Kind::count)
    names.insert(c->count_event);
  add_counted(c->count_where, names);
  for (const auto& child : c->children)
    add_counted(child, names);
}

/// Whether any event could change what a condition says: it reads the
/// event (event.*) or counts events within a window that moves with time.
/// A condition on traits alone gives the same answer at a status event as
/// before it (a track event changes no trait).
bool event_sensitive(const ConditionPtr& c) {
  if (!c)
    return false;
  if (c->kind == Condition::Kind::count || c->path.rfind("event.", 0) == 0)
    return true;
  for (const auto& child : c->children)
    if (event_sensitive(child))
      return true;
  return false;
}

/// A criterion: its event name, or, for a condition alone that any event
/// could change, every event.
void add_named(const std::string& event, const ConditionPtr& when, EventInterest& out) {
  if (!event.empty())
    out.names.insert(event);
  else if (event_sensitive(when))
    out.every = true;
}

void add_journey(const Journey& j, EventInterest& out) {
  add_named(j.entry_event, j.entry_when, out);
  add_counted(j.entry_when, out.names);
  for (const auto& x : j.exits) {
    add_named(x.event, x.when, out);
    add_counted(x.when, out.names);
  }
  if (j.goal) {
    add_named(j.goal->event, j.goal->when, out);
    add_counted(j.goal->when, out.names);
  }
  for (const auto& [id, s] : j.steps) {
    if (s.type == StepType::wait_event)
      out.names.insert(s.event);
    add_counted(s.when, out.names);
    for (const auto& c : s.cases)
      add_counted(c.when, out.names);
  }
}

}  // namespace

EventInterest event_interest(const Catalog& cat) {
  EventInterest out;
  out.names.insert(cat.conversion_events.begin(), cat.conversion_events.end());
  for (const auto& [id, entry] : cat.journeys)
    for (const auto& v : entry.versions)
      if (v)
        add_journey(*v, out);
  return out;
}

}  // namespace waymark
