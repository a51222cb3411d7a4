// Journeys and templates shared by the integration tests (PRODUCT.md §7 format).
#pragma once

namespace waymark::it::fixtures {

inline constexpr const char* kWelcomeTemplate = R"({
  "id": "welcome", "channel": "email",
  "subject": "Welcome, {{traits.first_name|there}}",
  "body": "Hello {{traits.first_name|there}}, thanks for signing up."
})";

inline constexpr const char* kReminderTemplate = R"({
  "id": "reminder", "channel": "email",
  "subject": "Still there, {{traits.first_name|friend}}?",
  "body": "Two days in: here is what to try next."
})";

/// Signed Up -> welcome mail -> wait 2d -> reminder mail -> exit.
inline constexpr const char* kOnboardingJourney = R"({
  "id": "onboarding", "name": "Onboarding", "owner": "integration-tests",
  "entry": {"event": "Signed Up"},
  "start": "welcome",
  "steps": {
    "welcome":  {"type": "send", "channel": "email", "template": "welcome", "next": "wait2d"},
    "wait2d":   {"type": "wait", "duration": "2d", "next": "reminder"},
    "reminder": {"type": "send", "channel": "email", "template": "reminder", "next": "done"},
    "done":     {"type": "exit"}
  }
})";

inline constexpr const char* kCartTemplate = R"({
  "id": "cart_reminder", "channel": "email",
  "subject": "You left cart {{entry.properties.cart_id}}",
  "body": "Cart {{entry.properties.cart_id}} is still waiting for you."
})";

/// One instance per cart: waits 1h for the order of that cart, else reminds.
inline constexpr const char* kAbandonedCartJourney = R"({
  "id": "abandoned-cart", "name": "Abandoned cart", "owner": "integration-tests",
  "entry": {"event": "Cart Updated"},
  "key": "properties.cart_id",
  "reentry": {"mode": "after_exit"},
  "start": "wait_order",
  "steps": {
    "wait_order": {"type": "wait_event", "event": "Order Completed", "timeout": "1h",
                   "next": "done", "timeout_next": "remind"},
    "remind":     {"type": "send", "channel": "email", "template": "cart_reminder", "next": "done"},
    "done":       {"type": "exit"}
  }
})";

inline constexpr const char* kReceiptTemplate = R"({
  "id": "receipt", "channel": "email",
  "subject": "Order {{entry.properties.order_id}} confirmed",
  "body": "Thanks for order {{entry.properties.order_id}}."
})";

/// One receipt per order id, then exit.
inline constexpr const char* kReceiptJourney = R"({
  "id": "receipts", "name": "Receipts", "owner": "integration-tests",
  "entry": {"event": "Order Placed"},
  "key": "properties.order_id",
  "start": "receipt",
  "steps": {
    "receipt": {"type": "send", "channel": "email", "template": "receipt", "next": "done"},
    "done":    {"type": "exit"}
  }
})";

}  // namespace waymark::it::fixtures
