// Reading journeys_dir (PRODUCT.md §11): the node seeds its catalog from it,
// `waymark simulate` builds its catalog from a folder of the same layout.
// Both go through these functions, so a folder is read and validated alike.
#pragma once

#include <string>
#include <vector>

#include "waymark/catalog.hpp"
#include "waymark/config.hpp"
#include "waymark/result.hpp"

namespace waymark {

/// The `*.json` files directly in `dir` (not recursive), sorted by name, each
/// parsed and checked as a deploy would (check_storable). A missing or
/// unreadable directory gives no files. Error "invalid_seed" with
/// "<path>: not a JSON object" or "<path>: <why>" for the first bad file.
Result<std::vector<SeedFile>> read_journeys_dir(const std::string& dir);

/// The catalog before anything is deployed: the config's channel policies and
/// limits, no journeys, no templates.
CatalogPtr base_catalog(const Config& config);

}  // namespace waymark
