#include "channel/providers/inbox/inbox_provider.hpp"

namespace json = boost::json;

namespace waymark {

json::object inbox_message(const json::object& record) {
  json::object m;
  for (const char* k : {"id", "journey", "version", "step", "template", "content", "at"})
    if (auto* v = record.if_contains(k))
      m[k] = *v;
  m["read"] = false;
  return m;
}

void InboxProvider::start(std::vector<DeliveryJob> jobs, const DeliveryDone& done) {
  for (auto& j : jobs) {
    auto* customer = j.record.if_contains("customer");
    if (!customer || !customer->is_string() || customer->get_string().empty()) {
      done(j.seq, DeliveryOutcome{DeliveryOutcome::Status::failed, "record has no customer", 0, ""});
      continue;
    }
    done(j.seq, DeliveryOutcome{DeliveryOutcome::Status::delivered, "", 0, json::serialize(inbox_message(j.record))});
  }
}

}  // namespace waymark
