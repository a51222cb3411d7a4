// The simulation loop: the node's customer actor and timer service, without
// actors, store or clock (see include/waymark/simulate/simulator.hpp).
#include "waymark/simulate/simulator.hpp"

#include <algorithm>

#include "waymark/outcomes/records.hpp"

namespace waymark::simulate {

namespace {

/// Alias redirects an event follows at most (as the journey manager does).
constexpr int kRedirectsMax = 16;

std::string timer_key(const std::string& customer, const std::string& id) { return customer + '\x1f' + id; }

/// The id an alias / identify-with-both-ids asks to merge into `s`
/// (actors/customer.cpp, merge_source): empty when none or already merged.
std::string merge_source(const CustomerState& s, const Event& e) {
  std::string other;
  if (e.type == EventType::alias)
    other = e.previous_id;
  else if (e.type == EventType::identify && !e.user_id.empty() && !e.anonymous_id.empty())
    other = e.anonymous_id;
  if (other.empty() || other == s.id)
    return {};
  if (std::find(s.merged_ids.begin(), s.merged_ids.end(), other) != s.merged_ids.end())
    return {};
  return other;
}

std::string_view trimmed(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
    line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
    line.remove_prefix(1);
  return line;
}


}  // namespace

Simulator::Simulator(CatalogPtr catalog, Options options, DeliverySink sink)
    : catalog_(std::move(catalog)), options_(options), sink_(std::move(sink)) {
  if (options_.start)
    start_at(*options_.start);
}

void Simulator::start_at(Millis t) {
  started_ = true;
  start_ = clock_ = t;
  until_ = options_.until ? *options_.until : add_time(t, kDefaultSpan).value_or(kTimeMax);
}

const CustomerState* Simulator::customer(const std::string& id) const {
  auto it = customers_.find(id);
  return it == customers_.end() ? nullptr : &it->second.s;
}

std::optional<Error> Simulator::feed_line(std::string_view line) {
  line = trimmed(line);
  if (line.empty())
    return std::nullopt;
  ++lines_.read;
  const Millis received = started_ ? clock_ : options_.fallback_start;
  auto e = parse_event(line, catalog_->limits, received);
  if (!e) {
    ++lines_.invalid;
    return e.error();
  }
  apply(*e);
  return std::nullopt;
}

const std::string& Simulator::resolve(const std::string& id) const {
  const std::string* at = &id;
  for (int hops = 0; hops < kRedirectsMax; ++hops) {
    auto r = redirects_.find(*at);
    if (r == redirects_.end())
      break;
    at = &r->second;
  }
  return *at;
}

Simulator::Customer& Simulator::customer_for(const std::string& id) {
  auto [it, fresh] = customers_.try_emplace(id);
  if (fresh)
    it->second.s.id = id;
  return it->second;
}

void Simulator::apply(const Event& e) {
  if (!started_)
    start_at(e.timestamp);
  if (e.timestamp < clock_)
    ++lines_.late;
  const Millis t = std::max(clock_, e.timestamp);
  if (t > until_) {
    ++lines_.after_until;
    return;
  }
  advance_to(t);
  Customer& c = customer_for(resolve(e.customer_key()));
  // As the customer actor: the merge first, then the duplicate check.
  if (std::string other = merge_source(c.s, e); !other.empty())
    merge_into(c, other);
  if (is_duplicate(c, e)) {
    ++lines_.duplicate;
    return;
  }
  ++lines_.applied;
  Decision d = on_event(c.s, *catalog_, e, clock_);
  commit(c, d);
}

bool Simulator::is_duplicate(Customer& c, const Event& e) {
  if (e.message_id.empty())
    return false;
  const Millis window = catalog_->limits.dedup_window_s * 1000;
  auto [it, fresh] = c.seen.try_emplace(e.message_id, clock_);
  if (!fresh && it->second + window > clock_)
    return true;
  it->second = clock_;
  if (c.seen.size() > c.seen_prune_at) {  // bounded by the window, amortised
    for (auto i = c.seen.begin(); i != c.seen.end();)
      i = i->second + window <= clock_ ? c.seen.erase(i) : std::next(i);
    c.seen_prune_at = std::max<size_t>(64, 2 * c.seen.size());
  }
  return false;
}

void Simulator::merge_into(Customer& into, const std::string& other) {
  Decision merged;
  auto it = redirects_.count(other) ? customers_.end() : customers_.find(other);
  if (it != customers_.end()) {
    // The handover: its timers go (merge_customer re-sets those of moved
    // instances under `into`), its redirects follow it, its dedup ids go.
    CustomerState from = std::move(it->second.s);
    customers_.erase(it);
    for (const auto& inst : from.instances) {
      live_timers_.erase(timer_key(from.id, inst.timer_id));
      live_timers_.erase(timer_key(from.id, inst.timeout_timer_id));
    }
    for (const auto& m : from.merged_ids)
      redirects_[m] = into.s.id;
    merged = merge_customer(into.s, std::move(from), *catalog_, clock_);
  }
  redirects_[other] = into.s.id;
  if (std::find(into.s.merged_ids.begin(), into.s.merged_ids.end(), other) == into.s.merged_ids.end())
    into.s.merged_ids.push_back(other);
  commit(into, merged);
}

void Simulator::advance_to(Millis t) {
  t = std::min(t, until_);
  while (!timers_.empty() && timers_.top().due <= t) {
    Timer next = timers_.top();
    timers_.pop();
    fire(next);
  }
  clock_ = std::max(clock_, t);
}

std::optional<Millis> Simulator::next_due() {
  while (!timers_.empty() && !live_timers_.count(timer_key(timers_.top().customer, timers_.top().id)))
    timers_.pop();  // cleared or merged away
  if (timers_.empty())
    return std::nullopt;
  return timers_.top().due;
}

void Simulator::run_out() {
  if (!started_)  // no event at all: the clock starts (and stays) where it would have
    start_at(options_.start.value_or(options_.fallback_start));
  for (auto due = next_due(); due && *due <= until_; due = next_due())
    advance_to(*due);
  if (next_due())  // still pending: the clock stopped at `until`
    clock_ = std::max(clock_, until_);
}

void Simulator::fire(const Timer& t) {
  if (live_timers_.erase(timer_key(t.customer, t.id)) == 0)
    return;  // cleared since, or its customer was merged away
  auto it = customers_.find(t.customer);
  if (it == customers_.end())
    return;
  clock_ = std::max(clock_, t.due);
  ++timers_fired_;
  Decision d = on_timer(it->second.s, *catalog_, t.id, clock_);
  commit(it->second, d);
}

void Simulator::commit(Customer& c, Decision& d) {
  for (const auto& dl : d.deliveries) {
    ++deliveries_;
    if (sink_)
      sink_(dl);
  }
  // Sets before clears, as the store: a timer set and cleared by one trigger is gone.
  for (const auto& t : d.timers_set) {
    live_timers_.insert(timer_key(c.s.id, t.id));
    timers_.push(Timer{t.due, c.s.id, t.id});
  }
  for (const auto& t : d.timers_cleared)
    live_timers_.erase(timer_key(c.s.id, t.id));
  for (const auto& st : d.stats)
    tally_[st.journey].counters[std::to_string(st.version) + '\0' + st.step + '\0' + st.counter] += st.n;
  for (const auto& a : d.arms) {
    auto& arms = tally_[a.journey].arms;
    arms[{a.version, a.arm, "entered"}] += a.entered;
    arms[{a.version, a.arm, "converted"}] += a.converted;
    arms[{a.version, a.arm, "value_micros"}] += outcomes::to_micros(a.value);
  }
  c.s.trace.clear();  // a trace is for the node's customer view
  c.s.trace.shrink_to_fit();
}

}  // namespace waymark::simulate
