#include "actors/http_cluster.hpp"

#include <mutex>

#include "http/router.hpp"

namespace waymark {

const std::string& catalog_leader(const NodeContext& ctx) {
  static const std::string none;
  return ctx.view ? ctx.view->members().front() : none;
}

bool is_other_member(const NodeContext& ctx, const std::string& address) {
  return ctx.view && address != ctx.config.cluster_listen;
}

std::vector<std::string> other_members(const NodeContext& ctx) {
  std::vector<std::string> out;
  if (ctx.view)
    for (auto& m : ctx.view->members())
      if (m != ctx.config.cluster_listen) out.push_back(m);
  return out;
}

std::string owner_of_key(const NodeContext& ctx, const std::string& key) {
  if (!ctx.view) return ctx.config.cluster_listen;
  return ctx.view->owner_of(ctx.router.partition_of(key));
}

namespace {

http::Response from_reply(const HttpReply& r) {
  http::Response out;
  out.status = r.status;
  out.content_type = r.content_type;
  out.body = r.body;
  if (r.status == 503) out.headers.emplace_back("Retry-After", "1");
  return out;
}

}  // namespace

void call_member(caf::actor_system& sys, NodeContext* ctx, const std::string& address, const http::Request& req,
                 std::chrono::milliseconds timeout, std::function<void(http::Response)> done) {
  auto link = ctx->cluster;
  HttpCall call{1, req.method, req.target, req.body, nullptr, req.caller.name, to_string(req.caller.role),
                req.caller.teams};
  sys.spawn([=](caf::event_based_actor* self) mutable -> caf::behavior {
    call.reply_to = caf::actor_cast<caf::actor>(self);
    self->send(link, http_atom::value, address, std::move(call));
    return {
      [=](http_atom, const HttpReply& r) {
        done(from_reply(r));
        self->quit();
      },
      caf::after(timeout) >>
        [=] {
          done(http::error_response(503, "cluster member " + address + " did not answer; retry"));
          self->quit();
        },
    };
  });
}

void proxy_to(caf::actor_system& sys, NodeContext* ctx, const std::string& address, const http::Request& req,
              http::Responder respond, std::chrono::milliseconds timeout) {
  call_member(sys, ctx, address, req, timeout, std::move(respond));
}

bool relay_to_leader(caf::actor_system& sys, NodeContext* ctx, const http::Request& req, http::Responder& respond) {
  if (req.internal || !ctx->view || catalog_leader(*ctx) == ctx->config.cluster_listen)
    return false;
  proxy_to(sys, ctx, catalog_leader(*ctx), req, respond, std::chrono::seconds(90));
  return true;
}

void call_peers(caf::actor_system& sys, NodeContext* ctx, const http::Request& req, std::chrono::milliseconds timeout,
                std::function<void(std::map<std::string, http::Response>)> done) {
  struct Gather {
    std::mutex mu;
    std::map<std::string, http::Response> replies;
    size_t waiting = 0;
  };
  auto g = std::make_shared<Gather>();
  const std::vector<std::string> peers = other_members(*ctx);
  g->waiting = peers.size();
  if (peers.empty()) return done({});
  for (auto& address : peers)
    call_member(sys, ctx, address, req, timeout, [g, address, done](http::Response r) {
      std::unique_lock<std::mutex> lock(g->mu);
      g->replies[address] = std::move(r);
      if (--g->waiting > 0) return;
      auto all = std::move(g->replies);
      lock.unlock();
      done(std::move(all));
    });
}

void serve_call(NodeContext* ctx, HttpCall call) {
  http::Request r;
  r.method = std::move(call.method);
  r.target = std::move(call.target);
  r.body = std::move(call.body);
  r.internal = true;
  http::split_target(r);
  r.caller.name = std::move(call.caller);
  r.caller.role = parse_role(call.caller_role).value_or(Role::viewer);
  r.caller.teams = std::move(call.caller_teams);
  auto to = call.reply_to;
  auto id = call.id;
  if (!ctx->http_handler) {
    caf::anon_send(to, http_atom::value, HttpReply{id, 503, "application/json", "{\"error\":\"starting\"}"});
    return;
  }
  ctx->http_handler(std::move(r), [to, id](http::Response resp) {
    caf::anon_send(to, http_atom::value, HttpReply{id, resp.status, resp.content_type, std::move(resp.body)});
  });
}

}  // namespace waymark
