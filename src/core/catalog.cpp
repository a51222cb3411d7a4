#include "waymark/catalog.hpp"
#include "waymark/json.hpp"

#include <algorithm>
#include <set>

namespace json = boost::json;

namespace waymark {

std::optional<JourneyStatus> parse_status(const std::string& s) {
  if (s == "active")
    return JourneyStatus::active;
  if (s == "paused")
    return JourneyStatus::paused;
  if (s == "archived")
    return JourneyStatus::archived;
  return std::nullopt;
}

namespace {

/// Why a jump may not go to `target`, "" when it may (a paused journey may
/// be resumed; an archived one is final until resumed, so it is refused).
std::string jump_target_problem(const std::map<std::string, JourneyStatus>& deployed,
                                const std::set<std::string>& deploying, const std::string& target) {
  if (deploying.count(target))
    return "";
  auto it = deployed.find(target);
  if (it == deployed.end())
    return "unknown journey '" + target + "'";
  if (it->second == JourneyStatus::archived)
    return "journey '" + target + "' is archived (a jump would never enter it; resume it first)";
  return "";
}

}  // namespace

ValidationContext validation_context(const Catalog& cat, const std::set<std::string>& deploying) {
  ValidationContext vc;
  for (auto& [name, p] : cat.channels)
    vc.channels.insert(name);
  auto templates = cat.templates;  // copy of the map of shared pointers
  vc.template_exists = [templates](const std::string& id) { return templates.count(id) > 0; };
  vc.template_channel = [templates](const std::string& id) -> std::string {
    auto i = templates.find(id);
    return i == templates.end() ? std::string() : i->second->channel;
  };
  std::map<std::string, JourneyStatus> deployed;
  for (auto& [id, entry] : cat.journeys)
    if (entry.latest())
      deployed.emplace(id, entry.status);
  vc.jump_target_problem = [deployed, deploying](const std::string& target) {
    return jump_target_problem(deployed, deploying, target);
  };
  return vc;
}

namespace {

/// Channel names the send steps of a stored journey use (for lenient re-parsing).
void add_used_channels(const json::value& v, std::set<std::string>& out) {
  const json::value* steps = v.is_object() ? v.get_object().if_contains("steps") : nullptr;
  if (!steps || !steps->is_object())
    return;
  for (const auto& kv : steps->get_object()) {
    const json::value* ch = kv.value().is_object() ? kv.value().get_object().if_contains("channel") : nullptr;
    if (ch && ch->is_string())
      out.insert(std::string(ch->get_string()));
  }
}

}  // namespace

namespace {

CatalogPtr build_catalog_from(const std::vector<std::pair<std::string, std::string>>& templates,
                              const std::vector<JourneyRecord>& journeys, const Config& config,
                              std::vector<std::string>& warnings) {
  auto cat = std::make_shared<Catalog>();
  cat->limits = config.limits;
  cat->links = LinkKeys{config.http_public_url, config.http_link_secret};
  cat->conversion_events = config.conversion_events;
  cat->conversion_value_path = config.conversion_value_path;
  for (auto& [name, ch] : config.channels)
    cat->channels[name] = ch.policy;
  for (auto& [id, raw] : templates) {
    std::error_code ec;
    auto v = parse_stored_json(raw, ec);
    std::vector<ValidationError> errs;
    auto t = ec ? nullptr : parse_template(v, errs);
    if (!t) {
      warnings.push_back("stored template '" + id + "' is unreadable");
      continue;
    }
    cat->templates[id] = t;
  }
  // Stored versions were valid when deployed; re-parse without reference
  // checks so a version is never lost to a later change of templates or of
  // the configured channels (the engine suppresses sends to a channel it no
  // longer has, and customers inside finish on their version).
  for (auto& rec : journeys) {
    JourneyEntry entry;
    entry.status = parse_status(rec.status).value_or(JourneyStatus::active);
    if (rec.live >= 0)
      entry.live = std::min(rec.live, static_cast<int>(rec.versions.size()));
    for (size_t i = 0; i < rec.versions.size(); ++i) {
      std::error_code ec;
      auto v = parse_stored_json(rec.versions[i], ec);
      std::vector<ValidationError> errs;
      ValidationContext lenient;
      if (!ec)
        add_used_channels(v, lenient.channels);
      auto j = ec ? nullptr : parse_journey(v, lenient, errs);
      if (!j) {
        warnings.push_back("stored journey '" + rec.id + "' version " + std::to_string(i + 1) + " is unreadable");
        entry.versions.push_back(nullptr);
        continue;
      }
      auto copy = std::make_shared<Journey>(*j);
      copy->version = static_cast<int>(i + 1);
      entry.versions.push_back(copy);
    }
    cat->journeys[rec.id] = std::move(entry);
  }
  return cat;
}

}  // namespace

CatalogPtr build_catalog(const Store& store, const Config& config, std::vector<std::string>& warnings) {
  return build_catalog_from(store.templates(), store.journeys(), config, warnings);
}

std::string catalog_blob_key(uint64_t generation) {
  std::string digits = std::to_string(generation);
  return "catalog/" + std::string(20 - digits.size(), '0') + digits;
}

std::string catalog_blob(const Catalog& cat) {
  json::array templates, journeys;
  for (auto& [id, t] : cat.templates)
    templates.push_back(json::array{json::string(id), json::string(json::serialize(t->source))});
  for (auto& [id, entry] : cat.journeys) {
    json::array versions;
    for (auto& v : entry.versions)
      versions.push_back(v ? json::value(json::string(json::serialize(v->source))) : json::value(nullptr));
    json::object j{{"id", id}, {"status", to_string(entry.status)}, {"versions", versions}};
    if (entry.live)
      j["live"] = *entry.live;
    journeys.push_back(std::move(j));
  }
  return json::serialize(json::object{{"templates", templates}, {"journeys", journeys}});
}

CatalogPtr catalog_from_blob(const std::string& blob, const Config& config, uint64_t generation,
                             std::vector<std::string>& warnings) {
  std::error_code ec;
  auto v = parse_stored_json(blob, ec);
  if (ec || !v.is_object())
    return nullptr;
  std::vector<std::pair<std::string, std::string>> templates;
  std::vector<JourneyRecord> journeys;
  try {
    for (auto& t : v.at("templates").as_array())
      templates.emplace_back(std::string(t.at(0).as_string()), std::string(t.at(1).as_string()));
    for (auto& j : v.at("journeys").as_array()) {
      JourneyRecord rec;
      rec.id = std::string(j.at("id").as_string());
      rec.status = std::string(j.at("status").as_string());
      for (auto& ver : j.at("versions").as_array())
        rec.versions.push_back(ver.is_string() ? std::string(ver.get_string()) : std::string());
      rec.latest = static_cast<int>(rec.versions.size());
      if (auto* live = j.as_object().if_contains("live"))
        rec.live = static_cast<int>(live->as_int64());
      journeys.push_back(std::move(rec));
    }
  } catch (const std::exception&) {
    return nullptr;
  }
  return with_generation(*build_catalog_from(templates, journeys, config, warnings), generation);
}

JourneyPtr prepare_journey(const Catalog& cat, const json::value& body, const std::string& id_from_path,
                           std::vector<ValidationError>& errors, const std::set<std::string>& deploying) {
  if (body.is_object() && !id_from_path.empty()) {
    auto* id = body.get_object().if_contains("id");
    if (id && (!id->is_string() || id->get_string() != id_from_path)) {
      errors.push_back({"id", "must match the id in the URL ('" + id_from_path + "')"});
      return nullptr;
    }
  }
  json::value fixed = body;
  if (fixed.is_object() && !id_from_path.empty() && !fixed.get_object().if_contains("id"))
    fixed.get_object()["id"] = id_from_path;
  auto j = parse_journey(fixed, validation_context(cat, deploying), errors);
  if (!j)
    return nullptr;
  auto copy = std::make_shared<Journey>(*j);
  auto it = cat.journeys.find(copy->id);
  copy->version = it == cat.journeys.end() ? 1 : static_cast<int>(it->second.versions.size()) + 1;
  return copy;
}

TemplatePtr prepare_template(const Catalog& cat, const json::value& body, const std::string& id_from_path,
                             std::vector<ValidationError>& errors) {
  json::value fixed = body;
  if (fixed.is_object() && !id_from_path.empty()) {
    auto* id = fixed.get_object().if_contains("id");
    if (id && (!id->is_string() || id->get_string() != id_from_path)) {
      errors.push_back({"id", "must match the id in the URL ('" + id_from_path + "')"});
      return nullptr;
    }
    if (!id)
      fixed.get_object()["id"] = id_from_path;
  }
  std::set<std::string> channels;
  for (auto& [name, p] : cat.channels)
    channels.insert(name);
  return validate_template(fixed, channels, errors);
}

bool same_as_latest(const Catalog& cat, const json::value& body) {
  if (!body.is_object())
    return false;
  auto* id = body.get_object().if_contains("id");
  if (!id || !id->is_string())
    return false;
  auto it = cat.journeys.find(std::string(id->get_string()));
  if (it == cat.journeys.end() || !it->second.latest())
    return false;
  return it->second.latest()->source == body.get_object();
}

namespace {

std::string id_of(const json::value& body) {
  const json::value* id = body.is_object() ? body.get_object().if_contains("id") : nullptr;
  return id && id->is_string() ? std::string(id->get_string()) : std::string();
}

bool is_journey_file(const SeedFile& f) { return f.body.is_object() && f.body.get_object().contains("steps"); }

Error seed_error(const std::string& path, const std::vector<ValidationError>& errors) {
  std::string msg;
  for (const auto& e : errors)
    msg += (msg.empty() ? "" : "\n") + path + ": " + e.path + ": " + e.message;
  return make_error("invalid_seed", msg);
}

/// Why an existing id's file is not applied ("" when it equals what is deployed).
std::string kept_note(const SeedFile& f, const std::string& what, const std::string& id, const json::object& current,
                      const std::string& version) {
  if (f.body.is_object() && f.body.get_object() == current)
    return "";
  return f.path + ": " + what + " '" + id + "' exists" + version +
         " and differs from this file; the file is not applied (deploy through the API)";
}

}  // namespace

Result<Seed> seed_catalog(const Catalog& cat, const std::vector<SeedFile>& files) {
  Seed seed;
  seed.catalog = std::make_shared<Catalog>(cat);
  // The directory's journeys are validated as one set: they may jump to
  // each other whatever the order of the files.
  std::set<std::string> deploying;
  for (const auto& f : files)
    if (is_journey_file(f))
      deploying.insert(id_of(f.body));
  for (const bool journeys : {false, true}) {
    for (const auto& f : files) {
      if (is_journey_file(f) != journeys)
        continue;
      const std::string id = id_of(f.body);
      const Catalog& now = *seed.catalog;
      if (!journeys && now.templates.count(id)) {
        seed.kept.push_back(kept_note(f, "template", id, now.templates.at(id)->source, ""));
        continue;
      }
      auto existing = now.journeys.find(id);
      if (journeys && existing != now.journeys.end() && !existing->second.versions.empty()) {
        const JourneyPtr latest = existing->second.latest();
        const std::string version = " (version " + std::to_string(existing->second.versions.size()) + ")";
        seed.kept.push_back(kept_note(f, "journey", id, latest ? latest->source : json::object(), version));
        continue;
      }
      std::vector<ValidationError> errors;
      if (!journeys) {
        TemplatePtr t = prepare_template(now, f.body, "", errors);
        if (!t)
          return seed_error(f.path, errors);
        seed.batch.templates.emplace_back(t->id, json::serialize(t->source));
        seed.catalog = with_template(now, t);
        continue;
      }
      JourneyPtr j = prepare_journey(now, f.body, "", errors, deploying);
      if (!j)
        return seed_error(f.path, errors);
      seed.batch.journeys.push_back(
        JourneyPut{j->id, j->version, json::serialize(j->source), j->version == 1 ? "active" : "", -1, ""});
      seed.catalog = with_journey(now, j);
    }
  }
  seed.kept.erase(std::remove(seed.kept.begin(), seed.kept.end(), std::string()), seed.kept.end());
  return seed;
}

CatalogPtr with_journey(const Catalog& cat, JourneyPtr j) {
  auto next = std::make_shared<Catalog>(cat);
  auto& entry = next->journeys[j->id];
  if (entry.live)
    entry.live = j->version;
  entry.versions.push_back(std::move(j));
  return next;
}

CatalogPtr with_draft(const Catalog& cat, JourneyPtr j) {
  auto next = std::make_shared<Catalog>(cat);
  auto& entry = next->journeys[j->id];
  entry.live = entry.live_version();
  entry.versions.push_back(std::move(j));
  return next;
}

CatalogPtr with_live(const Catalog& cat, const std::string& journey, int version) {
  auto next = std::make_shared<Catalog>(cat);
  next->journeys[journey].live = version;
  return next;
}

CatalogPtr with_template(const Catalog& cat, TemplatePtr t) {
  auto next = std::make_shared<Catalog>(cat);
  next->templates[t->id] = std::move(t);
  return next;
}

CatalogPtr with_generation(const Catalog& cat, uint64_t generation) {
  auto next = std::make_shared<Catalog>(cat);
  next->generation = generation;
  return next;
}

void add_generation(Batch& b, const Catalog& cat) {
  b.meta.emplace_back(catalog_blob_key(cat.generation), catalog_blob(cat));
  b.meta.emplace_back("catalog_gen", std::to_string(cat.generation));
}

void add_catalog_puts(Batch& b, const Catalog& cat) {
  for (auto& [id, t] : cat.templates)
    b.templates.emplace_back(id, json::serialize(t->source));
  for (auto& [id, entry] : cat.journeys) {
    for (size_t i = 0; i < entry.versions.size(); ++i)
      if (entry.versions[i])
        b.journeys.push_back(JourneyPut{id, static_cast<int>(i + 1), json::serialize(entry.versions[i]->source), "", -1, ""});
    b.journeys.push_back(JourneyPut{id, 0, "", to_string(entry.status), entry.live_version(), ""});
  }
}

CatalogPtr with_status(const Catalog& cat, const std::string& journey, JourneyStatus s) {
  auto next = std::make_shared<Catalog>(cat);
  next->journeys[journey].status = s;
  return next;
}

}  // namespace waymark
