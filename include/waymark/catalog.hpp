// Building and changing the catalog (what is deployed). Pure functions over
// immutable snapshots: each change returns a new Catalog; the caller commits
// the change to the store and then publishes the snapshot.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "waymark/config.hpp"
#include "waymark/engine.hpp"
#include "waymark/result.hpp"
#include "waymark/store.hpp"

namespace waymark {

/// The catalog as stored: every journey version, templates, channel policies
/// from the config. Unreadable stored entries are reported in `warnings`.
CatalogPtr build_catalog(const Store& store, const Config& config, std::vector<std::string>& warnings);

/// The deployed sources of `cat` (every journey version with its status, every
/// template) as one JSON text: what the store keeps per catalog generation so
/// that logged inputs replay against the catalog they ran on.
std::string catalog_blob(const Catalog& cat);
/// The catalog a blob describes (channel policies and limits from `config`),
/// with the given generation; nullptr when the blob is unreadable.
CatalogPtr catalog_from_blob(const std::string& blob, const Config& config, uint64_t generation,
                             std::vector<std::string>& warnings);
/// The meta key of generation g's blob ("catalog/" + 20 digits, so keys sort).
std::string catalog_blob_key(uint64_t generation);

/// Validation context for deploys against this catalog (channels, templates,
/// jump targets). A jump may go to a journey of `cat` that is not archived or
/// to one of `deploying` (journeys deployed together, e.g. journeys_dir).
ValidationContext validation_context(const Catalog& cat, const std::set<std::string>& deploying = {});

/// Validates a journey for deploy; on success returns it with version =
/// latest + 1. `id_from_path` (may be empty) must match the body's id;
/// `deploying`: ids of journeys deployed in the same set (jump targets).
JourneyPtr prepare_journey(const Catalog& cat, const boost::json::value& body, const std::string& id_from_path,
                           std::vector<ValidationError>& errors, const std::set<std::string>& deploying = {});
/// Validates a template for deploy (validate_template against the channels of `cat`).
TemplatePtr prepare_template(const Catalog& cat, const boost::json::value& body, const std::string& id_from_path,
                             std::vector<ValidationError>& errors);

/// True when `body` equals the source of the latest version (nothing to deploy).
bool same_as_latest(const Catalog& cat, const boost::json::value& body);

/// One file of journeys_dir: its path (for messages) and its JSON object.
struct SeedFile {
  std::string path;
  boost::json::value body;
};

/// What seeding journeys_dir changes: the catalog after it, the puts that store
/// it (journeys and templates only), and one line per file left out.
struct Seed {
  CatalogPtr catalog;
  Batch batch;
  std::vector<std::string> kept;  // "<path>: journey 'x' exists (version 3); the file is not applied"
};

/// journeys_dir only seeds (PRODUCT.md §11): a journey or template (an object
/// with "steps" is a journey) whose id has no version yet is added, templates
/// first so journeys can use them; a file whose id exists is left out, however
/// the existing one was deployed, and never creates a version. An invalid new
/// file fails the whole seed with one "<path>: <field>: <message>" per error.
Result<Seed> seed_catalog(const Catalog& cat, const std::vector<SeedFile>& files);

/// `j` added as the live version (what customers enter from now).
CatalogPtr with_journey(const Catalog& cat, JourneyPtr j);
/// `j` added as a draft: stored, numbered, never entered (PRODUCT.md §11).
CatalogPtr with_draft(const Catalog& cat, JourneyPtr j);
/// Version `version` of `journey` made live (an approved draft).
CatalogPtr with_live(const Catalog& cat, const std::string& journey, int version);
CatalogPtr with_template(const Catalog& cat, TemplatePtr t);
CatalogPtr with_status(const Catalog& cat, const std::string& journey, JourneyStatus s);
/// A copy of `cat` numbered `generation`.
CatalogPtr with_generation(const Catalog& cat, uint64_t generation);
/// Adds to `b` what stores `cat` as its generation: the blob and "catalog_gen".
void add_generation(Batch& b, const Catalog& cat);
/// Adds to `b` every journey version (with the journey's status) and every
/// template of `cat`: what a cluster member that was behind stores when it
/// takes the leader's generation (PRODUCT.md §9). Overwrites are idempotent.
void add_catalog_puts(Batch& b, const Catalog& cat);

std::optional<JourneyStatus> parse_status(const std::string& s);

}  // namespace waymark
