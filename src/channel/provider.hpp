// The delivery provider interface. One provider instance per channel, owned
// by that channel's gateway actor (actors/channel_gateway.cpp), which calls
// start()/checkpoint()/stop() from its own thread only.
//
// A provider never blocks its caller on the network: the file and inbox
// providers finish inside start() (local disk at most); webhook and smtp hand
// the job to their own libcurl worker thread (src/channel/curl/) and report
// the outcome later. Each provider lives in src/channel/providers/<name>/
// and is registered in make_provider (src/channel/provider.cpp).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
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
  enum class Status {
    delivered,  // the provider accepted it (2xx, SMTP 250, written)
    retry,      // transient: try again later (429, 5xx, timeout, connection refused)
    failed,     // permanent: never retried (4xx, SMTP 5xx, refused destination)
    unknown     // may or may not have arrived (connection lost after the data): not resent
  };
  Status status = Status::failed;
  std::string detail;          // e.g. "HTTP 503", "connection refused"
  int64_t retry_after_ms = 0;  // provider-requested minimum wait (Retry-After), 0 = none
  std::string inbox_json;      // inbox provider: message stored in the same commit as the status
};

const char* status_name(DeliveryOutcome::Status s);

/// One attempt at one outbox entry.
struct DeliveryJob {
  uint64_t seq = 0;             // outbox entry
  std::string id;               // idempotency key: the same on every attempt and after restarts
  int attempt = 1;              // 1-based
  boost::json::object record;   // the PRODUCT.md §7 record
};

/// Called exactly once per started job, on the gateway's thread (from inside
/// start) or on a provider thread. Must be cheap and thread-safe.
using DeliveryDone = std::function<void(uint64_t seq, DeliveryOutcome outcome)>;

class Provider {
public:
  virtual ~Provider() = default;
  /// Called once before the first delivery. Returns the ids the provider
  /// already holds from before a crash (delivered, but not yet recorded in the
  /// store), so they are recorded instead of sent again.
  virtual Result<std::set<std::string>> recover(const Store& store) { return std::set<std::string>{}; }
  /// Starts the given attempts; see DeliveryDone for how outcomes come back.
  virtual void start(std::vector<DeliveryJob> jobs, const DeliveryDone& done) = 0;
  /// Provider state to persist atomically with the delivery updates of every
  /// job whose outcome was reported so far.
  virtual std::vector<std::pair<std::string, std::string>> checkpoint() { return {}; }
  /// Stops provider threads; jobs still running report nothing. Idempotent.
  virtual void stop() {}
};

/// Builds the provider named by the channel config, or an error.
Result<std::unique_ptr<Provider>> make_provider(const ChannelConfig& channel, const std::string& data_dir);

}  // namespace waymark
