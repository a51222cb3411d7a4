#include "actors/status_events.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "actors/http_engagement.hpp"
#include "actors/messages.hpp"
#include "waymark/engagement.hpp"

namespace waymark {

namespace {

using recorded_atom = caf::atom_constant<caf::atom("stevrec")>;
using go_atom = caf::atom_constant<caf::atom("stevgo")>;

constexpr size_t in_flight_max = 256;
constexpr auto retry_after = std::chrono::seconds(1);
const std::string kPrefix = std::string("status_event") + '\0';

struct status_events_state {
  std::set<std::string> in_flight;  // marks whose event is on its way (its commit removes the mark)
  std::vector<std::string> done;    // marks to remove here: the delivery is gone, or its customer unreadable
  bool committing = false;
  bool retry_pending = false;
  bool started = false;  // the router is set: events can be routed
  bool more = false;     // the last scan left marks unsent: past the page read, or skipped with in_flight full
  static constexpr const char* name = "status_events";
};

using self_ptr = caf::stateful_actor<status_events_state>*;

void commit_done(self_ptr self, NodeContext* ctx) {
  auto& st = self->state;
  if (st.committing || st.done.empty())
    return;
  Batch b;
  b.meta_erase = std::move(st.done);
  st.done.clear();
  st.committing = true;
  self->request(ctx->store_actor, caf::infinite, batch_atom::value, std::move(b))
      .then(
          [=](bool) {
            self->state.committing = false;
            if (self->state.more)
              self->send(self, tick_atom::value);
            commit_done(self, ctx);
          },
          [=](caf::error& err) {
            // The marks stay: sent again later, dropped by the customer's dedup.
            self->state.committing = false;
            spdlog::warn("[status_events] removing marks failed: {}", self->system().render(err));
          });
}

/// Sends the event of every owed mark not already on its way.
void scan(self_ptr self, NodeContext* ctx) {
  auto& st = self->state;
  auto me = caf::actor_cast<caf::actor>(self);
  const Millis now = ctx->clock->now();
  auto marks = ctx->store->meta_prefixed(kPrefix, in_flight_max);
  size_t sent = 0;
  st.more = marks.size() == in_flight_max;
  for (auto& [key, status] : marks) {
    if (st.in_flight.count(key))
      continue;
    if (st.in_flight.size() >= in_flight_max) {
      st.more = true;  // left for the scan once the events on their way are recorded
      continue;
    }
    const std::string id = key.substr(kPrefix.size());
    auto record = ctx->store->delivery_status(id);
    auto info = record ? engagement::delivery_info(id, *record) : Result<engagement::DeliveryInfo>(Error{});
    if (!info || !engagement::event_name(status)) {
      st.done.push_back(key);  // erased meanwhile, or unreadable: nothing to record
      continue;
    }
    st.in_flight.insert(key);
    ++sent;
    record_event(
        self->system(), ctx, engagement::reaction_event(*info, status, now),
        [me, key](int code, const std::string& why) { caf::anon_send(me, recorded_atom::value, key, code, why); },
        key);
  }
  spdlog::debug("[status_events] scan: {} marks read, {} sent, {} on their way, more: {}", marks.size(), sent,
                st.in_flight.size(), st.more);
  commit_done(self, ctx);
}

caf::behavior status_events(self_ptr self, NodeContext* ctx) {
  return {
      [=](go_atom) {
        self->state.started = true;
        scan(self, ctx);  // marks left by the previous run
      },
      [=](tick_atom) {
        self->state.retry_pending = false;
        if (self->state.started)
          scan(self, ctx);
      },
      [=](recorded_atom, const std::string& key, int code, const std::string& why) {
        auto& st = self->state;
        st.in_flight.erase(key);
        if (code == 0) {  // committed with the event
          if (st.more && st.in_flight.empty())
            scan(self, ctx);
          return;
        }
        if (code == 500) {  // the customer's state is unreadable: retrying cannot help
          spdlog::error("[status_events] {} not recorded: {}", key.substr(kPrefix.size()), why);
          st.done.push_back(key);
          return commit_done(self, ctx);
        }
        if (!st.retry_pending) {  // nacked with retry (e.g. a restarting customer): try again shortly
          st.retry_pending = true;
          self->delayed_send(self, retry_after, tick_atom::value);
        }
      },
      [=](shutdown_atom) { self->quit(); },
  };
}

}  // namespace

caf::actor spawn_status_events(caf::actor_system& sys, NodeContext* ctx) {
  return sys.spawn(status_events, ctx);
}

void start_status_events(NodeContext* ctx) {
  caf::anon_send(ctx->status_events, go_atom::value);
}

}  // namespace waymark
