// `waymark validate FILE.json`: offline validation of a journey or a template
// against the channels of the config and the templates and journeys found
// next to it (journeys_dir, the file's directory).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "waymark/config.hpp"
#include "waymark/journey.hpp"
#include "waymark/template.hpp"
#include "waymark/json.hpp"

namespace waymark::cli {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kDefaultConfig = "config/waymark.json";

std::optional<json::value> parse_file(const fs::path& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read " + path.string();
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  auto v = parse_stored_json(ss.str(), ec);
  if (ec) {
    error = "bad JSON: " + ec.message();
    return std::nullopt;
  }
  if (auto storable = check_storable(v); !storable) {  // as a deploy would refuse it
    error = storable.error().message;
    return std::nullopt;
  }
  return v;
}

/// What the files next to the one being validated define.
struct Neighbours {
  std::map<std::string, TemplatePtr> templates;
  std::set<std::string> journeys;  // ids: jump targets
};

void load_neighbour(const fs::path& path, Neighbours& out) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || path.extension() != ".json") return;
  std::string error;
  auto v = parse_file(path, error);
  if (!v || !v->is_object()) return;
  if (v->as_object().contains("steps")) {
    if (auto* id = v->as_object().if_contains("id"); id && id->is_string())
      out.journeys.insert(std::string(id->get_string()));
    return;
  }
  std::vector<ValidationError> errors;
  auto t = parse_template(*v, errors);
  if (t && !t->id.empty()) out.templates.emplace(t->id, t);
}

// Loads every *.json template (an object without "steps") and the id of
// every journey in `dir`. Files that do not parse are skipped: they are not
// what is being validated.
void load_neighbours(const fs::path& dir, bool recursive, Neighbours& out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  if (recursive) {
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      load_neighbour(it->path(), out);
  } else {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      load_neighbour(it->path(), out);
  }
}

int print_errors(const std::vector<ValidationError>& errors) {
  for (const auto& e : errors) std::cerr << (e.path.empty() ? "(root)" : e.path) << ": " << e.message << "\n";
  return 1;
}

}  // namespace

int cmd_validate(const std::string& file, const std::optional<std::string>& config_path) {
  auto config = load_config(config_path.value_or(kDefaultConfig), config_path.has_value());
  if (!config.ok()) {
    std::cerr << config_path.value_or(kDefaultConfig) << ": " << config.error().message << "\n";
    return 1;
  }
  std::string error;
  auto doc = parse_file(file, error);
  if (!doc) {
    std::cerr << file << ": " << error << "\n";
    return 1;
  }
  if (!doc->is_object()) return print_errors({{"", "expected a JSON object"}});
  std::vector<ValidationError> errors;
  std::set<std::string> channels;
  for (const auto& [name, channel] : config->channels) channels.insert(name);
  if (!doc->as_object().contains("steps")) {
    auto t = validate_template(*doc, channels, errors);
    if (!t || !errors.empty()) return print_errors(errors);
    std::cout << "ok\n";
    return 0;
  }
  Neighbours near;
  fs::path journeys_dir(config->journeys_dir);
  fs::path file_dir = fs::path(file).parent_path();
  load_neighbours(journeys_dir, true, near);
  load_neighbours(journeys_dir.parent_path() / "templates", true, near);
  load_neighbours(file_dir.empty() ? fs::path(".") : file_dir, false, near);
  const auto& templates = near.templates;
  ValidationContext ctx;
  ctx.channels = channels;
  ctx.template_exists = [&](const std::string& id) { return templates.count(id) > 0; };
  ctx.template_channel = [&](const std::string& id) {
    auto it = templates.find(id);
    return it == templates.end() ? std::string() : it->second->channel;
  };
  // Offline, the journeys a jump may reach are those of journeys_dir and of
  // the file's own directory (what a node started on them would deploy).
  ctx.jump_target_problem = [&](const std::string& id) {
    return near.journeys.count(id) ? std::string() : "unknown journey '" + id + "' (not in journeys_dir or next to the file)";
  };
  auto journey = parse_journey(*doc, ctx, errors);
  if (!journey || !errors.empty()) return print_errors(errors);
  std::cout << "ok\n";
  return 0;
}

}  // namespace waymark::cli
