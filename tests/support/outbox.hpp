// Reads what the "file" channel provider wrote: <data_dir>/outbox/<channel>.ndjson,
// one PRODUCT.md §7 delivery record per line.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>
#include <vector>

namespace waymark::it {

struct Outbox {
  std::vector<boost::json::object> records;  // in file order
  std::vector<std::string> bad_lines;        // lines that are not a JSON object

  /// Records whose `field` (a top-level string field, or "content.<part>") equals `value`.
  std::vector<boost::json::object> where(const std::string& field, const std::string& value) const;
  /// How many records carry each "id" (a repeated id is a duplicate delivery).
  std::map<std::string, int> id_counts() const;
  /// "id"s seen more than once, for assertion messages.
  std::vector<std::string> duplicate_ids() const;
};

/// Missing file = empty outbox.
Outbox read_outbox(const std::string& data_dir, const std::string& channel);

/// A record's string field, "content.subject" style paths allowed; "" when absent.
std::string field(const boost::json::object& record, const std::string& path);

}  // namespace waymark::it
