// Outcomes vocabulary (PRODUCT.md §10): what was sent (touches) and what the
// customer then did that counts (conversions). Plain data, no behaviour.
#pragma once

#include <string>

#include "waymark/time.hpp"

namespace waymark::outcomes {

/// A send that left a journey step (delivered or still pending).
struct Touch {
  std::string delivery_id;  // the outbox record's id; unique per send
  std::string customer;
  std::string channel;      // e.g. "email"
  std::string journey;
  int version = 0;
  std::string step;
  std::string template_id;
  std::string variant;      // split variant the instance took; "" when none
  Millis at = 0;            // when the step sent it
};

/// An event that counts as a conversion, with its value (0 when absent).
struct Conversion {
  std::string customer;
  std::string event;        // event name, e.g. "Order Completed"
  double value = 0;         // finite; 0 when the event has none
  Millis at = 0;            // the event's time
};

}  // namespace waymark::outcomes
