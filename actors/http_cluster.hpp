// Admin requests across cluster members (PRODUCT.md §9, "Admin reads answer
// for the whole cluster from any node").
//
// A node relays an admin request to a peer as an HttpCall through its cluster
// actor; the peer runs it through its own HTTP handler with
// Request::internal set (authorised at the node the client called, answered
// for that peer alone) and sends back an HttpReply. On top of that:
//   - proxy: a customer's read, inbox and DELETE go to its partition's owner;
//     deploys and catalog changes go to the catalog leader;
//   - gather: /api/stats, journey stats and the clock ask every member.
// A member that is down answers 503 here (the caller decides what that means).
#pragma once

#include <caf/all.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "http/server.hpp"

namespace waymark {

/// The member that numbers catalog generations (deploys): the view's first.
const std::string& catalog_leader(const NodeContext& ctx);
/// True when this node is clustered and `address` is not this node.
bool is_other_member(const NodeContext& ctx, const std::string& address);
/// Every member of the cluster but this node (none on a single node).
std::vector<std::string> other_members(const NodeContext& ctx);
/// The owner of a customer key's partition (this node on a single node).
std::string owner_of_key(const NodeContext& ctx, const std::string& key);

/// Runs `req` (method, target, body) at `address` and answers `done` with its
/// response, or 503 when the member is down or silent for `timeout`.
void call_member(caf::actor_system& sys, NodeContext* ctx, const std::string& address, const http::Request& req,
                 std::chrono::milliseconds timeout, std::function<void(http::Response)> done);

/// call_member, answered to the client as it came back.
void proxy_to(caf::actor_system& sys, NodeContext* ctx, const std::string& address, const http::Request& req,
              http::Responder respond, std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Runs `req` at every other member (concurrently) and answers `done` once each
/// has answered or timed out: address -> response (503 for a member down).
void call_peers(caf::actor_system& sys, NodeContext* ctx, const http::Request& req, std::chrono::milliseconds timeout,
                std::function<void(std::map<std::string, http::Response>)> done);

/// In a cluster, on a member that is not the catalog leader: relays a client's
/// request to the leader (deploys, approvals, versions, the audit log) and
/// answers it; false when the request is to be answered here.
bool relay_to_leader(caf::actor_system& sys, NodeContext* ctx, const http::Request& req, http::Responder& respond);

/// At the peer: runs a relayed call through this node's handler and sends the
/// HttpReply to call.reply_to.
void serve_call(NodeContext* ctx, HttpCall call);

}  // namespace waymark
