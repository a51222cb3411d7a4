#include "actors/messages.hpp"

#include "waymark/json.hpp"

namespace waymark {

namespace wire {

std::string write_object(const boost::json::object& o) { return boost::json::serialize(o); }

caf::error read_object(const std::string& text, boost::json::object& out) {
  std::error_code ec;
  auto v = parse_stored_json(text, ec);
  if (ec || !v.is_object()) return caf::make_error(caf::sec::invalid_argument, "waymark: a wire JSON object is malformed");
  out = std::move(v.get_object());
  return caf::none;
}

}  // namespace wire

void register_wire_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<Event>("waymark.event.v1");
  cfg.add_message_type<AckTarget>("waymark.ack_target.v1");
  cfg.add_message_type<EventMsg>("waymark.event_msg.v2");  // v2: redirects (alias chains across owners)
  cfg.add_message_type<AckBatch>("waymark.ack_batch.v1");
  cfg.add_message_type<NackBatch>("waymark.nack_batch.v1");
  cfg.add_message_type<Hello>("waymark.hello.v2");
  cfg.add_message_type<HttpCall>("waymark.http_call.v1");
  cfg.add_message_type<HttpReply>("waymark.http_reply.v1");
  cfg.add_message_type<CatalogGen>("waymark.catalog_gen.v1");
  cfg.add_message_type<HandoffRecord>("waymark.handoff_record.v1");
  cfg.add_message_type<HandoffChunk>("waymark.handoff_chunk.v1");
  cfg.add_message_type<LinkAuth>("waymark.link_auth.v1");
  cfg.add_message_type<Handoff>("waymark.handoff.v1");
}

}  // namespace waymark
