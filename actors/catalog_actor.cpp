#include "actors/catalog_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "waymark/catalog.hpp"
#include "waymark/json.hpp"
#include "waymark/ops.hpp"

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

std::string forbidden_body(const std::string& msg, Role needed, const std::string& team = "") {
  json::object o{{"error", msg}, {"role_needed", to_string(needed)}};
  if (!team.empty())
    o["team_needed"] = team;
  return json::serialize(o);
}

std::string team_of(const json::object& source) {
  auto* t = source.if_contains("team");
  return t && t->is_string() ? std::string(t->get_string()) : std::string();
}

json::value version_or_null(int v) { return v > 0 ? json::value(v) : json::value(nullptr); }

/// A stored version record (journey_versions), {} when none or unreadable.
json::object stored_record(NodeContext* ctx, const std::string& id, int v) {
  auto all = ctx->store->journey_versions(id);
  auto it = all.find(v);
  if (it == all.end())
    return {};
  std::error_code ec;
  auto parsed = parse_stored_json(it->second, ec);
  return !ec && parsed.is_object() ? parsed.get_object() : json::object();
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
    [=](deploy_atom, const std::string& id, const std::string& body, const Caller& who) -> Reply {
      auto parsed = parse_input_json(body, ctx->config.limits.json_depth_max);
      if (!parsed)
        return {400, error_body(parsed.error().message)};
      auto& v = *parsed;
      std::vector<ValidationError> errors;
      auto cat = ctx->catalog.get();
      auto j = prepare_journey(*cat, v, id, errors);
      if (!j)
        return {422, errors_body(errors)};
      // With auth.require_approval a deploy is a draft: stored, numbered,
      // never entered until another person approves it (PRODUCT.md §11).
      const bool draft = ctx->config.require_approval;
      auto found = cat->journeys.find(j->id);
      const int live = found == cat->journeys.end() ? 0 : found->second.live_version();
      const Millis now = ctx->clock->now();
      auto record = version_record(who.name, now);
      if (!draft)
        record["live_at"] = format_rfc3339(now);
      Batch b;
      b.journeys.push_back(JourneyPut{j->id, j->version, json::serialize(j->source), j->version == 1 ? "active" : "",
                                      draft ? live : j->version, json::serialize(record)});
      b.audit.push_back(audit_entry(now, who, draft ? "draft" : "deploy", "journey:" + j->id, version_or_null(live),
                                    j->version));
      auto ok = json::serialize(
        json::object{{"id", j->id}, {"version", j->version}, {"status", draft ? "draft" : "live"}});
      spdlog::info("[catalog] {} journey {} version {} by {}", draft ? "draft of" : "deploy", j->id, j->version,
                   who.name);
      return commit_then(self, ctx, std::move(b), draft ? with_draft(*cat, j) : with_journey(*cat, j), 201, ok);
    },
    [=](template_atom, const std::string& id, const std::string& body, const Caller& who) -> Reply {
      auto parsed = parse_input_json(body, ctx->config.limits.json_depth_max);
      if (!parsed)
        return {400, error_body(parsed.error().message)};
      auto& v = *parsed;
      std::vector<ValidationError> errors;
      auto cat = ctx->catalog.get();
      auto t = prepare_template(*cat, v, id, errors);
      if (!t)
        return {422, errors_body(errors)};
      // Teams (PRODUCT.md §11): the team that owns it now and the one it
      // would belong to must both be the caller's (admins: any).
      auto old = cat->templates.find(t->id);
      for (const auto& team : {old == cat->templates.end() ? std::string() : team_of(old->second->source),
                               team_of(t->source)})
        if (auto why = template_refusal(who, team); !why.empty())
          return {403, forbidden_body(why, Role::editor, team)};
      Batch b;
      b.templates.emplace_back(t->id, json::serialize(t->source));
      b.audit.push_back(audit_entry(ctx->clock->now(), who, "template", "template:" + t->id,
                                    old == cat->templates.end() ? json::value(nullptr) : json::value(old->second->source),
                                    t->source));
      return commit_then(self, ctx, std::move(b), with_template(*cat, t), 201,
                         json::serialize(json::object{{"id", t->id}}));
    },
    [=](status_atom, const std::string& id, const std::string& status, const std::string& action,
        const Caller& who) -> Reply {
      auto cat = ctx->catalog.get();
      auto found = cat->journeys.find(id);
      if (found == cat->journeys.end())
        return {404, error_body("no journey '" + id + "'")};
      auto s = parse_status(status);
      if (!s)
        return {400, error_body("unknown status")};
      Batch b;
      b.journeys.push_back(JourneyPut{id, 0, "", status, -1, ""});
      b.audit.push_back(audit_entry(ctx->clock->now(), who, action, "journey:" + id, to_string(found->second.status),
                                    json::string(status)));
      return commit_then(self, ctx, std::move(b), with_status(*cat, id, *s), 200,
                         json::serialize(json::object{{"id", id}, {"status", status}}));
    },
    [=](catalog_atom, const CatalogGen& g) { return apply_generation(self, ctx, g); },
    [=](approve_atom, const std::string& id, int v, const Caller& who) -> Reply {
      auto cat = ctx->catalog.get();
      auto found = cat->journeys.find(id);
      if (found == cat->journeys.end())
        return {404, error_body("no journey '" + id + "'")};
      auto record = stored_record(ctx, id, v);
      if (auto problem = approval_problem(found->second, v, record, who))
        return {problem->status, problem->status == 403 ? forbidden_body(problem->message, Role::approver)
                                                        : error_body(problem->message)};
      // Valid when drafted; checked again against what is deployed now
      // (a template or jump target may have gone since).
      std::vector<ValidationError> errors;
      if (!prepare_journey(*cat, found->second.version(v)->source, id, errors, {id}))
        return {422, errors_body(errors)};
      const Millis now = ctx->clock->now();
      const int live = found->second.live_version();
      record["live_at"] = format_rfc3339(now);
      record["approver"] = who.name;
      Batch b;
      b.journeys.push_back(JourneyPut{id, v, "", "", v, json::serialize(record)});
      b.audit.push_back(audit_entry(now, who, "approve", "journey:" + id, version_or_null(live), v));
      spdlog::info("[catalog] journey {} version {} approved by {}", id, v, who.name);
      return commit_then(self, ctx, std::move(b), with_live(*cat, id, v), 200,
                         json::serialize(json::object{{"id", id}, {"version", v}, {"status", "live"}}));
    },
    [=](shutdown_atom) { self->quit(); },
  };
}

}  // namespace waymark
