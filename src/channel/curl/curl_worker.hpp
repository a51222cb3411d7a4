// One libcurl multi handle driven by one thread: the concurrency engine of
// the webhook and smtp providers. Transfers are submitted from the gateway's
// thread; the worker runs them all at once (bounded by the gateway's
// in_flight_max), reuses connections (keep-alive) through the multi handle's
// connection cache, and calls each transfer's `finish` on the worker thread.
//
// Owned by one provider; stop() (or the destructor) wakes and joins the
// thread, cleaning up unfinished transfers without calling their `finish`.
#pragma once

#include <curl/curl.h>

#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace waymark {

/// curl_global_init once per process (thread-safe).
void curl_global_once();

/// "Couldn't connect to server (Failed to connect to 127.0.0.1 port 9 ...)":
/// the code's text, then the transfer's CURLOPT_ERRORBUFFER when it says more.
std::string curl_error_text(CURLcode rc, const char* error_buffer);

class CurlWorker {
public:
  /// Runs on the worker thread when the transfer ended; `easy` is cleaned up after.
  using Finish = std::function<void(CURL* easy, CURLcode result)>;

  CurlWorker();
  ~CurlWorker();
  CurlWorker(const CurlWorker&) = delete;
  CurlWorker& operator=(const CurlWorker&) = delete;

  /// Takes ownership of `easy`. Thread-safe. Starts the thread on first use.
  void submit(CURL* easy, Finish finish);
  /// Stops and joins the thread. Idempotent.
  void stop();

private:
  void run();
  void finish_done();

  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::pair<CURL*, Finish>> queued_;  // guarded by mu_
  bool stopping_ = false;                         // guarded by mu_
  std::unordered_map<CURL*, Finish> active_;      // worker thread only
};

}  // namespace waymark
