#include "support/outbox.hpp"

#include <sstream>

#include "support/events.hpp"
#include "support/temp_dir.hpp"

namespace waymark::it {
namespace json = boost::json;

Outbox read_outbox(const std::string& data_dir, const std::string& channel) {
  Outbox out;
  std::istringstream in(read_file(data_dir + "/outbox/" + channel + ".ndjson"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    auto v = parse_json(line);
    if (v.is_object())
      out.records.push_back(v.get_object());
    else
      out.bad_lines.push_back(line);
  }
  return out;
}

std::string field(const json::object& record, const std::string& path) {
  auto v = at_path(json::value(record), path);
  return v.is_string() ? std::string(v.get_string()) : std::string();
}

std::vector<json::object> Outbox::where(const std::string& name, const std::string& value) const {
  std::vector<json::object> found;
  for (const auto& r : records)
    if (field(r, name) == value)
      found.push_back(r);
  return found;
}

std::map<std::string, int> Outbox::id_counts() const {
  std::map<std::string, int> counts;
  for (const auto& r : records)
    ++counts[field(r, "id")];
  return counts;
}

std::vector<std::string> Outbox::duplicate_ids() const {
  std::vector<std::string> dups;
  for (const auto& [id, n] : id_counts())
    if (n > 1)
      dups.push_back(id + " x" + std::to_string(n));
  return dups;
}

}  // namespace waymark::it
