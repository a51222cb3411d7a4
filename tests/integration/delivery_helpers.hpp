// Shared helpers of the delivery integration tests (delivery_*_test.cpp):
// channel configs for real providers on loopback, deploy + ingest helpers,
// and readers of a customer's delivery statuses over the HTTP API.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "support/events.hpp"
#include "support/node.hpp"
#include "support/tcp_client.hpp"

namespace waymark::it::delivery {

namespace json = boost::json;

/// A push template and a journey sending it once per "Ping" (keyed by properties.n).
inline constexpr const char* kPingTemplate = R"({
  "id": "ping", "channel": "push",
  "title": "Hi {{traits.first_name|there}}", "body": "Ping {{entry.properties.n}}"
})";
inline constexpr const char* kPingJourney = R"({
  "id": "pings", "name": "Pings", "owner": "delivery-tests",
  "entry": {"event": "Ping"}, "key": "properties.n", "reentry": {"mode": "always"},
  "start": "ping",
  "steps": {"ping": {"type": "send", "channel": "push", "template": "ping", "next": "done"},
            "done": {"type": "exit"}}
})";

/// A webhook channel on loopback with small, test-friendly retry timings.
inline json::object webhook_channel(const std::string& url, json::object extra = {}) {
  json::object c{{"provider", "webhook"},      {"url", url},           {"allow_private", true},
                 {"backoff_base_ms", 20},      {"backoff_max_ms", 200}, {"attempts_max", 5},
                 {"connect_timeout_ms", 1000}, {"timeout_ms", 5000}};
  for (auto& kv : extra)
    c[kv.key()] = kv.value();
  return c;
}

inline json::object smtp_channel(uint16_t port, json::object extra = {}) {
  json::object c{{"provider", "smtp"},        {"host", "127.0.0.1"},     {"port", port},
                 {"from", "Waymark <noreply@waymark.test>"}, {"backoff_base_ms", 20},
                 {"backoff_max_ms", 200},     {"connect_timeout_ms", 1000}, {"timeout_ms", 5000}};
  for (auto& kv : extra)
    c[kv.key()] = kv.value();
  return c;
}

inline ::testing::AssertionResult deploy(Node& node, std::initializer_list<const char*> templates,
                                         std::initializer_list<const char*> journeys) {
  for (const char* t : templates) {
    auto r = node.deploy_template(t);
    if (r.status != 201)
      return ::testing::AssertionFailure() << "template deploy: " << r.describe();
  }
  for (const char* j : journeys) {
    auto r = node.deploy_journey(j);
    if (r.status != 201)
      return ::testing::AssertionFailure() << "journey deploy: " << r.describe();
  }
  return ::testing::AssertionSuccess();
}

/// Sends lines on a fresh connection and waits for the ack covering all of them.
inline ::testing::AssertionResult send_all_acked(Node& node, const std::vector<std::string>& lines,
                                                 int timeout_ms = 10000) {
  TcpClient c;
  if (!c.connect(node.tcp_port()))
    return ::testing::AssertionFailure() << c.last_error();
  for (const auto& l : lines)
    if (!c.send_line(l))
      return ::testing::AssertionFailure() << c.last_error();
  if (!c.wait_ack(lines.size(), timeout_ms))
    return ::testing::AssertionFailure() << "no ack for " << lines.size() << " lines: " << c.transcript();
  if (!c.nacks().empty())
    return ::testing::AssertionFailure() << "unexpected nacks: " << c.transcript();
  return ::testing::AssertionSuccess();
}

/// identify(push_token) + Ping for each user u<first>..u<first+n-1>.
inline std::vector<std::string> ping_lines(int first, int n) {
  std::vector<std::string> lines;
  for (int i = first; i < first + n; ++i) {
    std::string u = "u" + std::to_string(i);
    lines.push_back(identify(u, {{"push_token", "tok-" + u}, {"first_name", "User" + std::to_string(i)}}));
    lines.push_back(track(u, "Ping", {{"n", "1"}}));
  }
  return lines;
}

/// The customer's deliveries array from GET /api/customers/{id}.
inline json::array deliveries_of(Node& node, const std::string& customer) {
  return array_at(node.customer(customer).json(), "deliveries");
}

/// The customer's trace "what" lines joined by '\n' (for contains-checks).
inline std::string trace_of(Node& node, const std::string& customer) {
  std::string out;
  for (auto& t : array_at(node.customer(customer).json(), "trace"))
    out += str_at(t, "what") + "\n";
  return out;
}

}  // namespace waymark::it::delivery
