// The journey engine: pure functions over a customer's state. A customer
// actor owns one CustomerState, calls on_event / on_timer, and hands the
// returned Decision to the store (state + outbox + timers in one commit).
// Nothing here does I/O, reads a clock, or knows about CAF.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "waymark/condition.hpp"
#include "waymark/event.hpp"
#include "waymark/journey.hpp"
#include "waymark/limits.hpp"
#include "waymark/outcomes/types.hpp"
#include "waymark/template.hpp"
#include "waymark/time.hpp"
#include "waymark/vec_deque.hpp"

namespace waymark {

// ---- catalog: what is deployed (immutable snapshot, shared) -----------------

enum class JourneyStatus { active, paused, archived };
const char* to_string(JourneyStatus s);

struct JourneyEntry {
  std::vector<JourneyPtr> versions;  // index v-1 holds version v (drafts included)
  JourneyStatus status = JourneyStatus::active;
  // The version customers enter: unset = the newest; 0 = none yet (only
  // drafts). A draft (PRODUCT.md §11) is a version above it, never entered.
  std::optional<int> live;
  int live_version() const { return live ? *live : static_cast<int>(versions.size()); }
  /// The live version (what new customers enter), nullptr when none.
  JourneyPtr latest() const { return version(live_version()); }
  JourneyPtr version(int v) const {
    return v >= 1 && static_cast<size_t>(v) <= versions.size() ? versions[v - 1] : nullptr;
  }
};

struct QuietHours {
  int start_minute = 0;  // minutes after local midnight, e.g. 21:00 -> 1260
  int end_minute = 0;    // e.g. 08:00 -> 480; start > end wraps midnight
};

struct ChannelPolicy {
  std::string name;
  std::string address_trait;  // "email" | "phone" | "push_token" | "" (no address needed)
  bool html_escape = false;   // true for email
  std::optional<std::pair<int, Millis>> frequency_cap;  // max sends per window, all journeys
  std::optional<QuietHours> quiet_hours;
};

struct Catalog {
  std::map<std::string, JourneyEntry> journeys;
  std::map<std::string, TemplatePtr> templates;
  std::map<std::string, ChannelPolicy> channels;
  Limits limits;
  LinkKeys links;  // http.public_url and the link key ({{link}} in templates)
  // Bumped by every change (deploy, template, status) and stored with it, so
  // an input logged under this catalog replays against it (store.hpp, log).
  uint64_t generation = 0;
  // Conversions for attribution and lifetime value (config `attribution.*`):
  // a track event with one of these names is a conversion worth the number at
  // `conversion_value_path` of the event (0 when absent).
  std::vector<std::string> conversion_events{"Order Completed"};
  std::string conversion_value_path = "properties.revenue";
};
using CatalogPtr = std::shared_ptr<const Catalog>;

// ---- customer state (persisted as JSON by the store) ------------------------

struct Instance {
  std::string id;        // unique per customer, e.g. "onboarding@1#7" (journey@version#seq)
  std::string journey;
  int version = 0;
  std::optional<std::string> key;  // instance key value (journey.key_path), if keyed
  std::string step;      // current step id
  Millis entered_at = 0;
  Millis step_since = 0;
  boost::json::object entry;  // Event::to_json of the event that started it ({} for condition entry)
  // Pending timer of this instance at its current step (wait, wait_event timeout,
  // deferred send); empty when none. Timer ids are unique per customer.
  std::string timer_id;
  Millis timer_due = 0;
  std::string timeout_timer_id;  // journey `timeout`, if any
  Millis timeout_due = 0;
  uint32_t visits = 0;  // steps executed so far (feeds idempotency keys)
  // Outcomes (PRODUCT.md §10): held out of the journey's steps (it only waits
  // for its goal), and the variant taken at each split step passed, in order.
  // Both are stored only when set, so states of journeys without them are unchanged.
  bool holdout = false;
  std::vector<std::pair<std::string, std::string>> variants;  // (split step, variant)
};

/// Remembers entries/exits per (journey, key) for re-entry modes and cooldown
/// (the cooldown counts from the newest entry of the journey under any key).
struct EntryMemo {
  Millis last_entered = 0;
  Millis last_exited = 0;
  bool active = false;
};

struct TraceEntry {
  Millis at = 0;
  std::string trigger;  // "event Trial Started" | "identify" | "timer <id>" | "merge"
  std::string journey;  // may be empty
  int version = 0;
  std::string step;     // may be empty
  std::string what;     // "entered", "case 0 matched: traits.plan eq \"pro\"", "suppressed: no_address", ...
};

struct DeliveryRef {
  std::string id;  // idempotency key
  std::string channel;
  std::string journey;
  std::string step;
  Millis at = 0;
};

struct CustomerState {
  std::string id;
  boost::json::object traits;
  std::vector<std::string> merged_ids;   // anonymous ids merged into this customer
  // The four lists are VecDeques, not std::deque: nothing allocated while empty (vec_deque.hpp).
  VecDeque<HistoryEntry> history;        // bounded by limits.history_*
  std::vector<Instance> instances;       // active instances
  std::map<std::string, EntryMemo> memo; // "journey\x1fkey" -> memo
  std::map<std::string, bool> entry_condition;  // journey -> last value of entry.when (edge trigger)
  VecDeque<std::pair<std::string, Millis>> sends;  // (channel, at) for frequency caps
  VecDeque<TraceEntry> trace;            // bounded by limits.trace_entries_max
  VecDeque<DeliveryRef> deliveries;      // bounded by limits.deliveries_recent_max
  uint64_t next_seq = 1;                 // instance and timer sequence
  Millis created_at = 0;
  Millis updated_at = 0;
};

boost::json::object to_json(const CustomerState& s);
Result<CustomerState> customer_from_json(const boost::json::value& v);

/// The store document: byte for byte json::serialize(to_json(s)), written directly
/// without building the DOM (the per-event cost of persisting a customer). The
/// second form appends to `out`, so a caller can reuse a buffer.
std::string serialize_state(const CustomerState& s);
void serialize_state(const CustomerState& s, std::string& out);
/// Appends json::serialize(e.to_json()) plus "previousId" when set, written the
/// same way without the DOM (the input log's event record).
void serialize_event(const Event& e, std::string& out);

// ---- decisions ---------------------------------------------------------------

/// One message to deliver (PRODUCT.md §7 file-provider record).
struct Delivery {
  std::string id;        // idempotency key: deterministic (customer, instance, step, visit)
  std::string channel;
  std::string customer;
  std::string journey;
  int version = 0;
  std::optional<std::string> key;
  std::string step;
  std::string template_id;
  std::string to;
  boost::json::object content;  // rendered parts: {"subject","body",...}
  std::vector<std::string> links;  // targets of its tracked links, index = n (kept with its status)
  Millis at = 0;                // when it was decided
  boost::json::object to_json() const;  // the §7 record, "at" in RFC 3339
};

struct TimerRef {
  Millis due = 0;
  std::string id;  // unique per customer; opaque to the timer service
};

/// A counter to add to the journey's per-step stats.
struct StatDelta {
  std::string journey;
  int version = 0;
  std::string step;     // "" for journey-level counters
  std::string counter;  // entered, exited:<reason>, goal, sent, suppressed:<reason>, deferred, ...
  int64_t n = 1;
};

/// A change to a journey's experiment counters (GET /api/journeys/{id}/results):
/// arm is "treated", "holdout" or "<split step>:<variant>" ("all" is their sum at read).
struct ArmDelta {
  std::string journey;
  int version = 0;
  std::string arm;
  int64_t entered = 0;
  int64_t converted = 0;
  double value = 0;  // goal value of the conversions counted
};

struct Decision {
  bool changed = false;  // state must be written (always true when anything below is non-empty)
  std::vector<Delivery> deliveries;
  std::vector<TimerRef> timers_set;
  std::vector<TimerRef> timers_cleared;
  std::vector<StatDelta> stats;
  // Outcomes, committed with the input that caused them (never on replay):
  // one touch per delivery, at most one conversion per event.
  std::vector<outcomes::Touch> touches;
  std::vector<outcomes::Conversion> conversions;
  std::vector<ArmDelta> arms;
};

/// Applies one event (already deduplicated and routed to this customer).
/// identify merges traits; every event is added to history; exit criteria,
/// goals, wait_event, entries (event and edge-triggered condition) are evaluated.
Decision on_event(CustomerState& s, const Catalog& cat, const Event& e, Millis now);

/// A durable timer of this customer fired. Stale timers (instance gone or
/// moved on) change nothing but still return changed=false.
Decision on_timer(CustomerState& s, const Catalog& cat, const std::string& timer_id, Millis now);

/// Merges `from` (an anonymous customer) into `into` (alias / identify with both
/// ids): traits (into wins), history (merged by time), instances (moved; a keyed
/// duplicate already active in `into` is dropped), memo. Pending timers of moved
/// instances are re-set under `into` (timers_set) — the caller deletes `from`'s.
Decision merge_customer(CustomerState& into, CustomerState&& from, const Catalog& cat, Millis now);

}  // namespace waymark
