// Partition hand-off when the member list changes (PRODUCT.md §9, "Growing or
// shrinking").
//
// Ownership changes only when nodes start with a new member list. At start a
// node finds the partitions it holds records of but no longer owns
// (NodeContext::held_foreign) and, once linked to each new owner, hands them
// over: its records in chunks (Store::export_chunk -> the owner's store actor,
// Store::import_chunk), then erases them here (Store::erase_moved), in that
// order. Until then this node neither fires their timers nor sends their
// outbox entries (they move too), and their events already go to the new
// owner.
//
// The new owner takes no event of a partition (nack with retry) until every
// other member has said it holds nothing more of it: it asks each member
// (handoff, get) until all answered without the partition, then the partition
// is ready; once all are, it stores the view's hash (meta "intake_view") and a
// restart with the same view skips the wait.
//
// Crash safety: the receiver imports only while the partition is not ready,
// so a chunk sent again after a crash of either side overwrites records with
// the same bytes; the sender erases only after the receiver acknowledged every
// chunk, and a sender that dies before its erase sends everything again; the
// receiver waits for "nothing more" which only the erase makes true. Nothing
// is held in two places that both act on it.
#pragma once

#include <caf/all.hpp>
#include <string>
#include <vector>

#include "actors/node_context.hpp"

namespace waymark {

/// The partitions this node holds for `member` (held, not owned here, owned there).
std::vector<uint32_t> held_for(NodeContext* ctx, const std::string& member);

/// Hands `partitions` to `peer` (whose cluster actor is `link`); reports
/// (handoff_atom, peer, ok) to `report_to` when done or failed.
caf::actor spawn_handoff_sender(caf::actor_system& sys, NodeContext* ctx, const std::string& peer, caf::actor link,
                          std::vector<uint32_t> partitions, caf::actor report_to);

/// "1,5,9" and back (the answer to a peer's question, on the wire as text).
std::string partitions_text(const std::vector<uint32_t>& ps);
std::vector<uint32_t> parse_partitions(const std::string& text);

}  // namespace waymark
