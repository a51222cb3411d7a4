// The delivery provider interface. One provider instance per channel, owned
// by that channel's gateway actor, called from that actor's own thread only
// (gateways run detached, so a provider may block on I/O).
// Each provider lives in src/channel/providers/<name>/ and registers itself
// in make_provider (src/channel/provider.cpp).
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "waymark/config.hpp"
#include "waymark/result.hpp"
#include "waymark/store.hpp"

namespace waymark {

struct DeliveryOutcome {
  enum class Status { delivered, retry, failed, unknown };
  Status status = Status::failed;
  std::string detail;           // e.g. "HTTP 503", "connection refused"
  int64_t retry_after_ms = 0;   // provider-requested minimum wait (Retry-After), 0 = none
};

class Provider {
public:
  virtual ~Provider() = default;
  /// Called once before the first delivery. Returns the ids the provider
  /// already holds from before a crash (delivered, but not yet recorded in the
  /// store), so they are recorded instead of sent again.
  virtual Result<std::set<std::string>> recover(const Store& store) { return std::set<std::string>{}; }
  /// Delivers records (PRODUCT.md §7 objects). One outcome per record, in order.
  virtual std::vector<DeliveryOutcome> deliver(const std::vector<boost::json::object>& records) = 0;
  /// Provider state to persist atomically with the delivery updates.
  virtual std::vector<std::pair<std::string, std::string>> checkpoint() { return {}; }
};

/// Builds the provider named by the channel config, or an error.
Result<std::unique_ptr<Provider>> make_provider(const ChannelConfig& channel, const std::string& data_dir);

}  // namespace waymark
