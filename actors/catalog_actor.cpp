#include "actors/catalog_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "waymark/catalog.hpp"
#include "waymark/json.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

using Reply = caf::result<int, std::string>;

std::string errors_body(const std::vector<ValidationError>& errors) {
  json::array arr;
  for (auto& e : errors)
    arr.push_back(json::object{{"path", e.path}, {"message", e.message}});
  return json::serialize(json::object{{"errors", arr}});
}

std::string error_body(const std::string& msg) { return json::serialize(json::object{{"error", msg}}); }

/// In a cluster (this node is the catalog leader): sends generation `cat` to
/// every peer that is up and calls `done` once each applied it (PRODUCT.md
/// §9: "the deploy returns after every reachable node has applied it"); the
/// mailbox waits meanwhile. Peers that missed it take it when they return.
void push_then(caf::event_based_actor* self, NodeContext* ctx, CatalogPtr cat,
               std::function<void(const std::string&)> done) {
  self->request(ctx->cluster, std::chrono::seconds(60), push_atom::value, CatalogGen{cat->generation, catalog_blob(*cat)})
    .await(
      [=](const std::string& missed) {
        if (!missed.empty())
          spdlog::warn("[catalog] generation {} not applied yet by {}", cat->generation, missed);
        done(missed);
      },
      [=](caf::error& err) { done(self->system().render(err)); });
}

/// Takes a generation numbered by the catalog leader (a push, or what a node
/// that was down fetched): stores every journey version and template of it and
/// publishes it. An older or equal generation changes nothing.
caf::result<bool> apply_generation(caf::event_based_actor* self, NodeContext* ctx, const CatalogGen& g) {
  if (g.generation <= ctx->catalog.get()->generation)
    return true;
  std::vector<std::string> warnings;
  auto cat = catalog_from_blob(g.blob, ctx->config, g.generation, warnings);
  if (!cat)
    return caf::make_error(caf::sec::invalid_argument, "catalog generation " + std::to_string(g.generation) +
                                                         " is unreadable");
  for (auto& w : warnings)
    spdlog::warn("[catalog] generation {}: {}", g.generation, w);
  Batch b;
  add_catalog_puts(b, *cat);
  add_generation(b, *cat);
  auto rp = self->make_response_promise<bool>();
  self->request(ctx->store_actor, std::chrono::seconds(30), batch_atom::value, std::move(b))
    .await(
      [=](bool) mutable {
        ctx->catalog.set(cat);
        spdlog::info("[catalog] generation {} from the leader applied", cat->generation);
        rp.deliver(true);
      },
      [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// Commits `b`, then publishes `next` and answers `ok`; the mailbox waits (await)
/// so deploys never interleave.
Reply commit_then(caf::event_based_actor* self, NodeContext* ctx, Batch b, CatalogPtr changed, int status,
                  std::string ok) {
  // The new generation and its sources are stored with the change itself.
  auto next = with_generation(*changed, ctx->catalog.get()->generation + 1);
  add_generation(b, *next);
  auto rp = self->make_response_promise<int, std::string>();
  self->request(ctx->store_actor, std::chrono::seconds(30), batch_atom::value, std::move(b))
    .await(
      [=](bool) mutable {
        ctx->catalog.set(next);
        if (!ctx->cluster) {
          rp.deliver(status, ok);
          return;
        }
        push_then(self, ctx, next, [=](const std::string&) mutable { rp.deliver(status, ok); });
      },
      [=](caf::error& err) mutable { rp.deliver(503, error_body("store: " + self->system().render(err))); });
  return rp;
}

}  // namespace

caf::behavior catalog_actor(caf::event_based_actor* self, NodeContext* ctx) {
  return {
    [=](deploy_atom, const std::string& id, const std::string& body) -> Reply {
      auto parsed = parse_input_json(body, ctx->config.limits.json_depth_max);
      if (!parsed)
        return {400, error_body(parsed.error().message)};
      auto& v = *parsed;
      std::vector<ValidationError> errors;
      auto cat = ctx->catalog.get();
      auto j = prepare_journey(*cat, v, id, errors);
      if (!j)
        return {422, errors_body(errors)};
      Batch b;
      b.journeys.push_back(JourneyPut{j->id, j->version, json::serialize(j->source), ""});
      if (j->version == 1)
        b.journeys.back().status = "active";
      auto ok = json::serialize(json::object{{"id", j->id}, {"version", j->version}});
      spdlog::info("[catalog] deploy journey {} version {}", j->id, j->version);
      return commit_then(self, ctx, std::move(b), with_journey(*cat, j), 201, ok);
    },
    [=](template_atom, const std::string& id, const std::string& body) -> Reply {
      auto parsed = parse_input_json(body, ctx->config.limits.json_depth_max);
      if (!parsed)
        return {400, error_body(parsed.error().message)};
      auto& v = *parsed;
      std::vector<ValidationError> errors;
      auto cat = ctx->catalog.get();
      auto t = prepare_template(*cat, v, id, errors);
      if (!t)
        return {422, errors_body(errors)};
      Batch b;
      b.templates.emplace_back(t->id, json::serialize(t->source));
      return commit_then(self, ctx, std::move(b), with_template(*cat, t), 201,
                         json::serialize(json::object{{"id", t->id}}));
    },
    [=](status_atom, const std::string& id, const std::string& status) -> Reply {
      auto cat = ctx->catalog.get();
      if (!cat->journeys.count(id))
        return {404, error_body("no journey '" + id + "'")};
      auto s = parse_status(status);
      if (!s)
        return {400, error_body("unknown status")};
      Batch b;
      b.journeys.push_back(JourneyPut{id, 0, "", status});
      return commit_then(self, ctx, std::move(b), with_status(*cat, id, *s), 200,
                         json::serialize(json::object{{"id", id}, {"status", status}}));
    },
    [=](catalog_atom, const CatalogGen& g) { return apply_generation(self, ctx, g); },
    [=](shutdown_atom) { self->quit(); },
  };
}

}  // namespace waymark
