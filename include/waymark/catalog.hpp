// Building and changing the catalog (what is deployed). Pure functions over
// immutable snapshots: each change returns a new Catalog; the caller commits
// the change to the store and then publishes the snapshot.
#pragma once

#include <string>
#include <vector>

#include "waymark/config.hpp"
#include "waymark/engine.hpp"
#include "waymark/store.hpp"

namespace waymark {

/// The catalog as stored: every journey version, templates, channel policies
/// from the config. Unreadable stored entries are reported in `warnings`.
CatalogPtr build_catalog(const Store& store, const Config& config, std::vector<std::string>& warnings);

/// Validation context for deploys against this catalog (channels, templates).
ValidationContext validation_context(const Catalog& cat);

/// Validates a journey for deploy; on success returns it with version =
/// latest + 1. `id_from_path` (may be empty) must match the body's id.
JourneyPtr prepare_journey(const Catalog& cat, const boost::json::value& body, const std::string& id_from_path,
                           std::vector<ValidationError>& errors);
TemplatePtr prepare_template(const boost::json::value& body, const std::string& id_from_path,
                             std::vector<ValidationError>& errors);

/// True when `body` equals the source of the latest version (nothing to deploy).
bool same_as_latest(const Catalog& cat, const boost::json::value& body);

CatalogPtr with_journey(const Catalog& cat, JourneyPtr j);
CatalogPtr with_template(const Catalog& cat, TemplatePtr t);
CatalogPtr with_status(const Catalog& cat, const std::string& journey, JourneyStatus s);

std::optional<JourneyStatus> parse_status(const std::string& s);

}  // namespace waymark
