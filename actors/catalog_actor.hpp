// The catalog actor: serialises deploys. Validates against the current
// catalog, assigns the next version, commits it through the store actor, and
// only then publishes the new snapshot (so a 201 means "stored and live").
//
// Messages (requests; reply (int http_status, std::string json_body)):
//   (deploy_atom, id, body)        journey -> 201 {"id","version"} | 422 {"errors":[...]} | 400
//   (template_atom, id, body)      template -> 201 {"id"} | 422 | 400
//   (status_atom, id, status)      pause/resume/archive -> 200 {"id","status"} | 404
#pragma once

#include <caf/all.hpp>

#include "actors/node_context.hpp"

namespace waymark {

caf::behavior catalog_actor(caf::event_based_actor* self, NodeContext* ctx);

}  // namespace waymark
