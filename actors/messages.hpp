// Messages between Waymark's actors. Atoms are verbs.
//
//   tcp/http gateway --event--> journey_manager --event(request)--> customer
//   customer --commit--> store_actor --acked/nacked--> origin (gateway)
//   timer_service --timer--> journey_manager --timer(request)--> customer
//   store_actor --outbox--> channel_gateway --commit(updates)--> store_actor
//
// Messages that may cross nodes (an event forwarded to its partition's owner,
// the acks and nacks that come back) are serializable: each has an `inspect`
// below and a name in the `waymark` type-ID block, registered by the node
// (register_wire_types). JSON objects travel as their serialized text, never
// as Boost.JSON trees. The rest stay on their node (CAF_ALLOW_UNSAFE_...).
#pragma once

#include <caf/all.hpp>

#include "waymark/event.hpp"
#include "waymark/roles.hpp"
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
using hello_atom = caf::atom_constant<caf::atom("hello")>;        // cluster: a link opens
using dial_atom = caf::atom_constant<caf::atom("dial")>;          // cluster: (re)connect to a peer
using peer_up_atom = caf::atom_constant<caf::atom("peerup")>;     // cluster: a peer's link is up
using peer_down_atom = caf::atom_constant<caf::atom("peerdown")>; // cluster: a peer's link is lost
using unalias_atom = caf::atom_constant<caf::atom("unalias")>;    // a merge's commit failed: the id is its own again
using http_atom = caf::atom_constant<caf::atom("http")>;          // cluster: an admin request run at a peer
using catalog_atom = caf::atom_constant<caf::atom("catalog")>;    // cluster: a catalog generation (deploys)
using push_atom = caf::atom_constant<caf::atom("push")>;          // cluster: send a generation to every peer
using ready_atom = caf::atom_constant<caf::atom("ready")>;        // cluster: fetch the newest catalog again
using handoff_atom = caf::atom_constant<caf::atom("handoff")>;    // cluster: a partition's records move
using auth_atom = caf::atom_constant<caf::atom("auth")>;          // cluster: a dialer asks for a nonce (cluster_auth.hpp)
using prove_atom = caf::atom_constant<caf::atom("prove")>;        // cluster: a dialer proves cluster.secret
using sweep_links_atom = caf::atom_constant<caf::atom("sweeplnk")>;  // cluster: drop links past the handshake bound
using absorbed_atom = caf::atom_constant<caf::atom("absorbed")>;  // cluster merge: did `into` take `id` in?
using prepare_atom = caf::atom_constant<caf::atom("prepare")>;    // cluster merge: stop a customer, state final
using done_atom = caf::atom_constant<caf::atom("done")>;          // customer -> its manager: an event is handled

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
  // A meta name deleted in the commit of this event, duplicate or not (the
  // "status event owed" mark, actors/status_events.cpp). Not sent to other nodes.
  std::string settles;
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

/// What a cluster member tells a peer when a link opens (actors/cluster_link.hpp).
struct Hello {
  std::string address;    // the sender's cluster.listen
  std::string view_hash;  // cluster::Membership::hash()
  std::string view;       // cluster::Membership::describe()
  uint64_t generation = 0;  // the sender's catalog generation (a node behind the leader catches up)
  int64_t clock = 0;        // the sender's manual clock (0: system clock); a node behind moves to it
};

/// An admin request one node runs at another (actors/http_cluster.hpp): the
/// peer answers with an HttpReply sent to `reply_to`, tagged with `id`.
struct HttpCall {
  uint64_t id = 0;
  std::string method;
  std::string target;  // path and query, as a client sent them
  std::string body;
  caf::actor reply_to;
  // Who called, as the member that took the request authorised it (PRODUCT.md §11).
  std::string caller;
  std::string caller_role;
  std::vector<std::string> caller_teams;
};
struct HttpReply {
  uint64_t id = 0;
  int status = 503;
  std::string content_type;
  std::string body;
};

/// A merge across owners (actors/cluster_merge.cpp): customer `id`, owned by
/// the receiving member, is merged into `into`, owned by the sender.
struct Handoff {
  std::string id;
  std::string into;
};

/// One catalog generation as the leader stores it (catalog_blob): every
/// journey version with its status and every template.
struct CatalogGen {
  uint64_t generation = 0;
  std::string blob;
};

/// The proof of cluster.secret on a new link (include/waymark/cluster_auth.hpp):
/// (auth_atom, {address}) -> {nonce}; (prove_atom, {address, nonce, proof}) -> {proof}.
struct LinkAuth {
  std::string address;  // the sender's cluster.listen
  std::string nonce;    // 32 random bytes chosen by the sender, to be answered
  std::string proof;    // cluster::link_proof for the other side's nonce
};

// -- wire format of the messages that may cross nodes ---------------------------------

namespace wire {
/// Reads back an object written by write_object; a malformed or non-object
/// text is a deserialization error (the message is dropped by CAF).
caf::error read_object(const std::string& text, boost::json::object& out);
std::string write_object(const boost::json::object& o);
}  // namespace wire

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Event& x) {
  std::string properties, traits, context;
  if constexpr (Inspector::reads_state) {
    properties = wire::write_object(x.properties);
    traits = wire::write_object(x.traits);
    context = wire::write_object(x.context);
  }
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (auto e = wire::read_object(properties, x.properties)) return e;
    if (auto e = wire::read_object(traits, x.traits)) return e;
    return wire::read_object(context, x.context);
  });
  return f(caf::meta::type_name("waymark.event"), x.type, x.user_id, x.anonymous_id, x.previous_id, x.message_id,
           x.name, x.timestamp, properties, traits, context, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AckTarget& x) {
  return f(caf::meta::type_name("waymark.ack_target"), x.origin, x.line);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, EventMsg& x) {
  return f(caf::meta::type_name("waymark.event_msg"), x.event, x.ack, x.route, x.redirects);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Hello& x) {
  return f(caf::meta::type_name("waymark.hello"), x.address, x.view_hash, x.view, x.generation, x.clock);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, HttpCall& x) {
  return f(caf::meta::type_name("waymark.http_call"), x.id, x.method, x.target, x.body, x.reply_to,
           x.caller, x.caller_role, x.caller_teams);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, HttpReply& x) {
  return f(caf::meta::type_name("waymark.http_reply"), x.id, x.status, x.content_type, x.body);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, HandoffRecord& x) {
  return f(caf::meta::type_name("waymark.handoff_record"), x.db, x.key, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, HandoffChunk& x) {
  return f(caf::meta::type_name("waymark.handoff_chunk"), x.records, x.next);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Handoff& x) {
  return f(caf::meta::type_name("waymark.handoff"), x.id, x.into);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, CatalogGen& x) {
  return f(caf::meta::type_name("waymark.catalog_gen"), x.generation, x.blob);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, LinkAuth& x) {
  return f(caf::meta::type_name("waymark.link_auth"), x.address, x.nonce, x.proof);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AckBatch& x) {
  return f(caf::meta::type_name("waymark.ack_batch"), x.lines);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, NackBatch& x) {
  return f(caf::meta::type_name("waymark.nack_batch"), x.lines, x.retry);
}

}  // namespace waymark

// Type IDs of the serializable messages. (In CAF 0.17.6 the IDs never go on
// the wire: the names registered by register_wire_types do, versioned, so a
// changed layout gets a new name and nodes of different builds refuse each
// other's messages instead of misreading them.)
CAF_BEGIN_TYPE_ID_BLOCK(waymark, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(waymark, (waymark::Event))
  CAF_ADD_TYPE_ID(waymark, (waymark::AckTarget))
  CAF_ADD_TYPE_ID(waymark, (waymark::EventMsg))
  CAF_ADD_TYPE_ID(waymark, (waymark::AckBatch))
  CAF_ADD_TYPE_ID(waymark, (waymark::NackBatch))
  CAF_ADD_TYPE_ID(waymark, (std::vector<waymark::EventMsg>))
  CAF_ADD_TYPE_ID(waymark, (waymark::Hello))
  CAF_ADD_TYPE_ID(waymark, (waymark::HttpCall))
  CAF_ADD_TYPE_ID(waymark, (waymark::HttpReply))
  CAF_ADD_TYPE_ID(waymark, (waymark::CatalogGen))
  CAF_ADD_TYPE_ID(waymark, (waymark::HandoffRecord))
  CAF_ADD_TYPE_ID(waymark, (waymark::HandoffChunk))
  CAF_ADD_TYPE_ID(waymark, (waymark::LinkAuth))
  CAF_ADD_TYPE_ID(waymark, (waymark::Handoff))
CAF_END_TYPE_ID_BLOCK(waymark)

namespace waymark {
/// Registers the serializable messages with the actor system (before it starts).
void register_wire_types(caf::actor_system_config& cfg);
}  // namespace waymark

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::CommitItem)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::Batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::TimerKey)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::CommitResult)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<waymark::TimerKey>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(waymark::Caller)

namespace waymark {
using deploy_atom = caf::atom_constant<caf::atom("deploy")>;
using template_atom = caf::atom_constant<caf::atom("template")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using approve_atom = caf::atom_constant<caf::atom("approve")>;  // a draft goes live (PRODUCT.md §11)
}  // namespace waymark
