// The TCP event gateway (PRODUCT.md §5) as CAF io::brokers: one acceptor
// broker, and one broker per connection (fork), all on the middleman's
// multiplexer thread, so nothing here may block.
//
// Per connection: NDJSON lines are numbered from 1; bad lines are nacked at
// once; good ones go to the partition's journey manager and are acked,
// cumulatively, when the store reports them committed. Backpressure: at most
// limits.connection_unacked_max lines read but not acked, and a bounded
// output buffer; past either the broker stops reading that socket (read
// credit), so TCP flow control slows that producer and no other.
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
