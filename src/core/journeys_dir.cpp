#include "waymark/journeys_dir.hpp"

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "waymark/json.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

std::vector<std::string> json_files(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (auto* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.substr(n.size() - 5) == ".json")
        out.push_back(dir + "/" + n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::vector<SeedFile>> read_journeys_dir(const std::string& dir) {
  std::vector<SeedFile> files;
  for (auto& path : json_files(dir)) {
    auto text = read_text(path);
    std::error_code ec;
    auto v = text ? parse_stored_json(*text, ec) : json::value();
    if (!text || ec || !v.is_object())
      return make_error("invalid_seed", path + ": not a JSON object");
    if (auto storable = check_storable(v); !storable)  // as parse_input_json does for PUT
      return make_error("invalid_seed", path + ": " + storable.error().message);
    files.push_back(SeedFile{path, std::move(v)});
  }
  return files;
}

CatalogPtr base_catalog(const Config& config) {
  // Through the node's own path from stored catalog to Catalog, so whatever it
  // takes from the config (channel policies, limits, ...) is taken here too.
  std::vector<std::string> warnings;
  return catalog_from_blob(catalog_blob(Catalog{}), config, 0, warnings);
}

}  // namespace waymark
