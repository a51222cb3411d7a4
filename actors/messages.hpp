// Messages between Waymark's actors (local to one node). Atoms are verbs.
//
//   tcp/http gateway --event--> journey_manager --event(request)--> customer
//   customer --commit--> store_actor --acked/nacked--> origin (gateway)
//   timer_service --timer--> journey_manager --timer(request)--> customer
//   store_actor --outbox--> channel_gateway --commit(updates)--> store_actor
#pragma once

#include <caf/all.hpp>

#include "waymark/event.hpp"
#include "waymark/store.hpp"

namespace waymark {

// -- atoms -------------------------------------------------------------------------
using event_atom = caf::atom_constant<caf::atom("event")>;
using timer_atom = caf::atom_constant<caf::atom("timer")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using batch_atom = caf::atom_constant<caf::atom("batch")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using acked_atom = caf::atom_constant<caf::atom("acked")>;
using nacked_atom = caf::atom_constant<caf::atom("nacked")>;
using barrier_atom = caf::atom_constant<caf::atom("barrier")>;
using drained_atom = caf::atom_constant<caf::atom("drained")>;
using handover_atom = caf::atom_constant<caf::atom("handover")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using advance_atom = caf::atom_constant<caf::atom("advance")>;
using outbox_atom = caf::atom_constant<caf::atom("outbox")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using erase_atom = caf::atom_constant<caf::atom("erase")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;  // store your state now (input log)
using state_atom = caf::atom_constant<caf::atom("state")>;        // read a customer's current state
using unalias_atom = caf::atom_constant<caf::atom("unalias")>;    // a merge's commit failed: the id is its own again

/// Where the ack (or nack) of one event goes: the connection broker or HTTP
/// request actor that read it, and its line number there.
struct AckTarget {
  caf::actor origin;  // null for internal work (timers, merges)
  uint64_t line = 0;
};

struct EventMsg {
  Event event;
  AckTarget ack;
  std::string route;  // customer id this event is routed to (alias-resolved)
  // Alias redirects followed so far (journey_manager.cpp): past
  // kAliasRedirectsMax the event is nacked instead of circling.
  uint32_t redirects = 0;
};

/// Alias redirects one event may follow: a merged id points at its canonical
/// customer, which may itself have been merged since (a chain); more than this
/// means the redirects form a loop.
inline constexpr uint32_t kAliasRedirectsMax = 16;

/// One unit of work for the store: a customer's write plus the acks it
/// releases once committed. `epoch` guards against writes computed on top of
/// a state whose commit failed (see store_actor.cpp).
struct CommitItem {
  CustomerWrite write;
  std::vector<AckTarget> acks;
  uint64_t epoch = 0;
  caf::actor sender;  // the customer actor that sent it (set by the store actor)
};

/// Result sent to an origin after a group commit: lines committed (acks) or
/// rejected after parsing (nacks with a reason, e.g. store failure).
struct AckBatch {
  std::vector<uint64_t> lines;
};
struct NackBatch {
  std::vector<std::pair<uint64_t, std::string>> lines;
  bool retry = true;  // false: sending the same line again cannot succeed (customer state unreadable)
};

/// Catalog changed or a journey deployed: nothing to carry, customers read the
/// shared catalog snapshot.

}  // namespace waymark

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::EventMsg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::CommitItem)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::AckBatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::NackBatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::Batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::TimerKey)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::CommitResult)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<waymark::TimerKey>)

namespace waymark {
using deploy_atom = caf::atom_constant<caf::atom("deploy")>;
using template_atom = caf::atom_constant<caf::atom("template")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
}  // namespace waymark
