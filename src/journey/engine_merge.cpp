// merge_customer (PRODUCT.md §4 alias / identify with both ids): an anonymous
// customer's profile, history and journey instances move into the known one.
#include <algorithm>
#include <iterator>
#include <set>

#include "journey/engine_internal.hpp"

namespace waymark {

namespace json = boost::json;
using namespace engine_detail;

namespace {

/// Merges two time-ordered sequences; on equal times `into`'s entries come first.
template <class Seq, class At>
void merge_by_time(Seq& into, Seq&& from, At at) {
  Seq out;
  out.reserve(into.size() + from.size());
  std::merge(std::make_move_iterator(into.begin()), std::make_move_iterator(into.end()),
             std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()),
             std::back_inserter(out), [&](const auto& a, const auto& b) { return at(a) < at(b); });
  into = std::move(out);
}

void add_merged_id(CustomerState& into, const std::string& id) {
  if (id.empty() || id == into.id)
    return;
  if (std::find(into.merged_ids.begin(), into.merged_ids.end(), id) == into.merged_ids.end())
    into.merged_ids.push_back(id);
}

void merge_profile(CustomerState& into, CustomerState& from) {
  for (auto& kv : from.traits)
    if (!into.traits.contains(kv.key()))
      into.traits[kv.key()] = std::move(kv.value());
  add_merged_id(into, from.id);
  for (const auto& m : from.merged_ids)
    add_merged_id(into, m);
  for (const auto& [journey, value] : from.entry_condition)
    into.entry_condition[journey] = into.entry_condition[journey] || value;  // no spurious edge
  if (from.created_at != 0 && (into.created_at == 0 || from.created_at < into.created_at))
    into.created_at = from.created_at;
}

/// Moves one instance: dropped when `into` already runs that journey and key;
/// renumbered on an id collision; its pending timers re-issued under `into`.
void move_instance(Run& r, Instance inst, const std::string& from_id) {
  const bool duplicate = std::any_of(r.s.instances.begin(), r.s.instances.end(), [&](const Instance& i) {
    return i.journey == inst.journey && i.key == inst.key;
  });
  if (duplicate) {
    r.stat(inst.journey, inst.version, inst.step, "exited:merge_duplicate");
    r.trace(inst.journey, inst.version, inst.step, "exited: merge_duplicate (" + inst.id + " of " + from_id + ")");
    return;
  }
  if (find_instance(r.s, inst.id))
    inst.id = inst.journey + "@" + std::to_string(inst.version) + "#" + std::to_string(r.s.next_seq++);
  if (!inst.timer_id.empty()) {
    inst.timer_id = r.new_timer_id();
    r.d.timers_set.push_back(TimerRef{inst.timer_due, inst.timer_id});
  }
  if (!inst.timeout_timer_id.empty()) {
    inst.timeout_timer_id = r.new_timer_id();
    r.d.timers_set.push_back(TimerRef{inst.timeout_due, inst.timeout_timer_id});
  }
  r.trace(inst.journey, inst.version, inst.step, "moved " + inst.id + " from " + from_id);
  r.s.instances.push_back(std::move(inst));
}

void merge_memo(CustomerState& into, const CustomerState& from) {
  for (const auto& [k, m] : from.memo) {
    EntryMemo& t = into.memo[k];
    t.last_entered = std::max(t.last_entered, m.last_entered);
    t.last_exited = std::max(t.last_exited, m.last_exited);
  }
  std::set<std::string> active;
  for (const auto& i : into.instances)
    active.insert(memo_key(i.journey, i.key));
  for (auto& [k, m] : into.memo)
    m.active = active.count(k) > 0;
}

void merge_recent(CustomerState& into, CustomerState& from, const Limits& limits) {
  merge_by_time(into.sends, std::move(from.sends), [](const auto& e) { return e.second; });
  merge_by_time(into.deliveries, std::move(from.deliveries), [](const DeliveryRef& d) { return d.at; });
  while (into.deliveries.size() > limits.deliveries_recent_max)
    into.deliveries.pop_front();
  merge_by_time(into.trace, std::move(from.trace), [](const TraceEntry& t) { return t.at; });
  trim_trace(into, limits);
}

}  // namespace

Decision merge_customer(CustomerState& into, CustomerState&& from, const Catalog& cat, Millis now) {
  Run r(into, cat, now);
  r.trigger = "merge";
  r.profile_changed = true;
  const std::string from_id = from.id;
  merge_profile(into, from);
  merge_by_time(into.history, std::move(from.history), [](const HistoryEntry& h) { return h.at; });
  trim_history(into, cat.limits, now);
  merge_recent(into, from, cat.limits);
  r.trace("", 0, "", "merged " + from_id);
  // ids of `from`'s instances are below from.next_seq: keeping them unique
  // afterwards needs the larger sequence.
  into.next_seq = std::max(into.next_seq, from.next_seq);
  for (auto& inst : from.instances)
    move_instance(r, std::move(inst), from_id);
  merge_memo(into, from);
  sweep_profile_exits(r);
  check_condition_entries(r);
  into.updated_at = now;
  r.d.changed = true;
  return std::move(r.d);
}

}  // namespace waymark
