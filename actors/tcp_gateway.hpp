// The TCP event gateway (PRODUCT.md §5) as CAF io::brokers: one acceptor
// broker, and one broker per connection (fork), all on the middleman's
// multiplexer thread, so nothing here may block.
//
// Per connection: NDJSON lines are numbered from 1; bad lines are nacked at
// once; good ones go to the partition's journey manager and are acked,
// cumulatively, when the store reports them committed. Backpressure: at most
// limits.connection_unacked_max lines read but not acked, and a bounded
// output buffer; past either the broker stops reading that socket (read
// credit), so TCP flow control slows that producer and no other. Node-wide:
// past limits.node_unacked_bytes_max of input read and not acked (all
// connections and HTTP ingest, NodeContext::input_budget) every connection
// stops reading; the acceptor wakes them below half of it.
// Time bounds: a connection with nothing unacked and nothing received for
// limits.connection_idle_s, and a line (the first: from the accept, so a
// missing hello) not complete after limits.connection_incomplete_s, get a
// fatal error and are closed. At limits.connections_max the connection idle
// for longest is closed to make room. A connection reads 4 KiB at a time
// until a read fills that, then 64 KiB.
#pragma once

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

/// Spawns the acceptor bound to host:port (port 0 = any free port).
/// Returns the broker and the bound port.
caf::expected<std::pair<caf::actor, uint16_t>> start_tcp_gateway(caf::actor_system& sys, NodeContext* ctx,
                                                                 const std::string& host, uint16_t port);

}  // namespace waymark
