#include "waymark/handoffs.hpp"

#include <boost/json.hpp>

#include "waymark/json.hpp"

namespace json = boost::json;

namespace waymark {

void Handoffs::set(const std::string& id, const std::string& into) {
  std::lock_guard<std::mutex> g(mu_);
  marks_[id] = into;
  count_.store(marks_.size(), std::memory_order_release);
}

void Handoffs::erase(const std::string& id) {
  std::lock_guard<std::mutex> g(mu_);
  marks_.erase(id);
  count_.store(marks_.size(), std::memory_order_release);
}

std::map<std::string, std::string> Handoffs::all() const {
  std::lock_guard<std::mutex> g(mu_);
  return marks_;
}

std::string Handoffs::encode(const std::map<std::string, std::string>& marks) {
  json::object o;
  for (auto& [id, into] : marks) o[id] = into;
  return json::serialize(o);
}

Result<std::map<std::string, std::string>> Handoffs::decode(const std::string& text) {
  std::map<std::string, std::string> out;
  if (text.empty()) return out;
  std::error_code ec;
  auto v = parse_stored_json(text, ec);
  if (ec) return make_error("bad_json", "handoffs: " + ec.message());
  if (!v.is_object()) return make_error("bad_value", "handoffs: not a JSON object");
  for (auto& [id, into] : v.get_object()) {
    if (!into.is_string() || into.get_string().empty() || id.empty())
      return make_error("bad_value", "handoffs." + std::string(id) + ": not a customer id");
    out[std::string(id)] = std::string(into.get_string());
  }
  return out;
}

}  // namespace waymark
