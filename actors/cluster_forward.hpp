// Forwarding to a partition's owner (PRODUCT.md §9), one forwarder per peer.
//
// The router hands a forwarder every event whose partition the peer owns. The
// forwarder stands in for the event's origin (a TCP connection or an HTTP
// request): it sends the event to the owner (in batches: what its mailbox
// holds goes as one message) with itself as the ack target,
// under a number of its own, and relays the owner's acks and nacks to the
// origin's line. So the origin's ack still means "committed at the owner", and
// what the owner has not answered is known here: while the owner is down, and
// for every event it has not answered within cluster.forward_timeout_ms while
// the owner answered nothing else either (or within 10 timeouts whatever it
// did: waymark/forward_policy.hpp), the origin gets a nack with "retry":true. A late answer for a nacked event is
// dropped (the client resends; dedup by messageId makes that safe).
//
//   (event_atom, EventMsg)          from gateways (via the router)
//   (acked_atom, AckBatch)          from the owner's store
//   (nacked_atom, NackBatch)        from the owner
//   (peer_up_atom, actor)           from the cluster actor: the owner's cluster actor
//   (peer_down_atom)                from the cluster actor
#pragma once

#include <caf/all.hpp>
#include <string>

#include "actors/node_context.hpp"

namespace waymark {

caf::actor spawn_forwarder(caf::actor_system& sys, NodeContext* ctx, std::string peer);

}  // namespace waymark
