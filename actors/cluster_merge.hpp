// Alias merges across two owners (PRODUCT.md §9); the protocol and why it is
// correct are at the top of cluster_merge.cpp. One `merger` actor per
// clustered node (NodeContext::merger), spawned by start_cluster before any
// event flows. Its messages:
//
//   from a local customer actor (it merges `id`, owned by another member, into `into`):
//     (handover_atom, string id, string into) -> string: id's final state ("" = none)
//   from a peer's merger, through the cluster actors:
//     (handover_atom, Handoff)  -> string   at id's owner: mark id, answer its state
//     (absorbed_atom, Handoff)  -> string   at into's owner: "yes" | "no" | "pending"
//   from this node's cluster actor:
//     (peer_up_atom, string address, actor link), (peer_down_atom, string address)
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

/// Loads the durable marks (Store meta "handoffs") into ctx->handoffs and
/// spawns the merger, which resolves each of them with the merging member.
caf::actor spawn_merger(caf::actor_system& sys, NodeContext* ctx);

}  // namespace waymark
