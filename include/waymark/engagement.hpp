// Engagement feedback (PRODUCT.md §10): what customers did with a message
// (opened, clicked, bounced, complained, unsubscribed) and its final delivery
// status (delivered, failed, dead) become track events "Message <Type>" of the
// customer who got it, with properties delivery_id, journey, version, step,
// channel (url_index for tracked-link clicks). Each carries a deterministic
// messageId, so the customer's dedup records it once. Pure: the routes
// (actors/http_engagement.cpp) and the gateways build events with it, the
// engine counts them per step.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "waymark/event.hpp"
#include "waymark/result.hpp"

namespace waymark::engagement {

/// What the delivery record (Store::delivery_status) says about a delivery.
struct DeliveryInfo {
  std::string id;
  std::string customer;
  std::string channel;
  std::string journey;
  int version = 0;
  std::string step;
  std::vector<std::string> links;  // tracked-link targets, index = n
};

/// Parses a delivery record; an error when it lacks the customer (a record
/// written before this build still has customer and channel; journey/step/links may be empty).
Result<DeliveryInfo> delivery_info(std::string_view id, std::string_view record_json);

/// "opened" -> "Message Opened"; the callback types and the final statuses
/// (delivered, failed, dead). nullopt for any other.
std::optional<std::string> event_name(std::string_view type);

/// The callback types of POST /api/deliveries/{id}/events.
bool is_callback_type(std::string_view type);

/// "waymark:<delivery>:<type>": one event per type and delivery, whatever
/// sent it (a click on any tracked link of the message, or a provider's
/// callback), so rates stay fractions of the messages sent.
std::string message_id(std::string_view delivery, std::string_view type);

/// The track event for `type` (see event_name) of this delivery, at `now`.
Event reaction_event(const DeliveryInfo& d, std::string_view type, Millis now,
                     std::optional<size_t> url_index = {});

/// The per-step counter an event adds to its journey's stats
/// ("engagement:opened", ...), for the reaction types only (final statuses
/// are counted by the store as "delivery:<status>"); nullopt for others.
struct StepCount {
  std::string journey;
  int version = 0;
  std::string step;
  std::string counter;
};
std::optional<StepCount> step_count(const Event& e);

}  // namespace waymark::engagement
