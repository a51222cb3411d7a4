// Cluster membership links (PRODUCT.md §9), the first part of issue #13.
//
// One `cluster` actor per node, published on cluster.listen. Each pair of
// members is dialled from one side (the member whose address sorts higher
// dials the lower one at once: CAF-0.17.md §7c, two nodes dialling each other
// at once break over TLS); the lower one dials only when no link came within
// 3 s, so that a node listed by a peer that does not list it back still
// learns of the mismatch. The first message on a link is a hello carrying the
// dialler's address and its view of the cluster (sorted members, partition
// count, their hash); a node whose view differs is refused, and both sides log
// a line naming both views. A peer is "up" while its cluster actor is reachable
// (monitored: a kill -9 shows at once, a frozen node after the middleman's
// connection timeout); the dialler redials a lost peer with backoff.
//
// Events of partitions another member owns go through a forwarder per peer
// (actors/cluster_forward.hpp); a peer's events for partitions this node owns
// arrive here and go to the local manager. Admin calls (actors/http_cluster.hpp),
// catalog generations (the leader pushes; a member behind fetches), merges
// across owners (actors/cluster_merge.hpp) and partition hand-off
// (actors/cluster_handoff.hpp) travel over the same links, after the secret
// proof (actors/cluster_auth.hpp).
//
//   (event_atom, vector<EventMsg>) from a peer's forwarder: each to this node's manager
//
//   (hello_atom, Hello)   from a dialling peer; answers this node's Hello, or
//                         an error naming both views
//   (get_atom)            -> std::string: GET /api/cluster as JSON text
#pragma once

#include <caf/all.hpp>
#include <string>

#include "actors/node_context.hpp"

namespace waymark {

/// Spawns the node's cluster actor, publishes it on cluster.listen and starts
/// dialling; an error when the port cannot be bound.
caf::expected<caf::actor> start_cluster(caf::actor_system& sys, NodeContext* ctx);

/// GET /api/cluster for a single node (no peers): itself, up, every partition.
std::string single_node_cluster_json(const NodeContext& ctx);

}  // namespace waymark
