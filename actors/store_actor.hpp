// The store actor: the only LMDB writer. Runs detached (its own thread) since
// an LMDB commit blocks on fsync. Group commit: every CommitItem/Batch that
// is in the mailbox when a flush runs goes into ONE write transaction; only
// after it commits are the acks released, gateways told about new outbox
// entries, and the timer service told about new and deleted timers.
//
// A failed commit nacks its lines ("store error: <code>; retry"), stops the
// customer actors that wrote it (their managers restart them from the stored
// state and the log, with a new epoch; writes of the stopped incarnation are
// refused meanwhile), and tells the managers of ids it would have merged
// that they are their own customers again (unalias_atom).
//
// Messages:
//   (commit_atom, CommitItem)          from customers (acks released after commit)
//   (batch_atom, Batch) -> bool        request; reply after commit (deploys, deliveries, clock)
//   (barrier_atom, std::string id)     from managers; replies (drained_atom, id) after
//                                      everything enqueued before it is committed
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

caf::behavior store_actor(caf::stateful_actor<struct store_state>* self, NodeContext* ctx);

// Spawns the actor (the state type stays private to the .cpp).
caf::actor spawn_store_actor(caf::actor_system& sys, NodeContext* ctx);

}  // namespace waymark
