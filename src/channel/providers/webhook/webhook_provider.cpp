#include "channel/providers/webhook/webhook_provider.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "channel/curl/curl_worker.hpp"
#include "channel/net_guard.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

constexpr size_t response_excerpt_bytes_max = 200;  // kept for the delivery's detail

/// One request's buffers; alive until the worker's finish callback returns.
struct WebhookTransfer {
  std::string body;
  curl_slist* headers = nullptr;
  std::string retry_after;
  std::string response;
  std::string refused;  // set by the socket guard
  bool allow_private = false;
  char error[CURL_ERROR_SIZE] = {};  // libcurl's own words (e.g. which certificate check failed)
  ~WebhookTransfer() { curl_slist_free_all(headers); }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<WebhookTransfer*>(user);
  std::string line(data, size * n);
  static const char name[] = "retry-after:";
  if (line.size() > sizeof name - 1) {
    bool match = true;
    for (size_t i = 0; i < sizeof name - 1 && match; ++i)
      match = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
    if (match) {
      auto v = line.substr(sizeof name - 1);
      v.erase(0, v.find_first_not_of(" \t"));
      v.erase(v.find_last_not_of(" \t\r\n") + 1);
      t->retry_after = v;
    }
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<WebhookTransfer*>(user);
  if (t->response.size() < response_excerpt_bytes_max)
    t->response.append(data, std::min(size * n, response_excerpt_bytes_max - t->response.size()));
  return size * n;
}

curl_socket_t on_open_socket(void* user, curlsocktype, curl_sockaddr* addr) {
  auto* t = static_cast<WebhookTransfer*>(user);
  if (!t->allow_private)
    if (auto why = private_sockaddr_reason(&addr->addr)) {
      t->refused = *why;
      return CURL_SOCKET_BAD;
    }
  return ::socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

DeliveryOutcome classify(CURL* easy, CURLcode rc, const WebhookTransfer& t) {
  using S = DeliveryOutcome::Status;
  if (rc != CURLE_OK && !t.refused.empty())
    return {S::failed, "destination refused: " + t.refused + " (set allow_private to allow it)", 0, ""};
  if (rc != CURLE_OK)
    return {S::retry, "transport: " + curl_error_text(rc, t.error), 0, ""};
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  std::string detail = "HTTP " + std::to_string(code);
  if (code >= 200 && code < 300)
    return {S::delivered, detail, 0, ""};
  if (!t.response.empty())
    detail += ": " + t.response;
  if (code == 408 || code == 429 || code >= 500)
    return {S::retry, detail, parse_retry_after_ms(t.retry_after, static_cast<int64_t>(std::time(nullptr))), ""};
  return {S::failed, detail, 0, ""};
}

class WebhookProvider : public Provider {
public:
  explicit WebhookProvider(ChannelConfig cfg) : cfg_(std::move(cfg)) {}
  ~WebhookProvider() override { stop(); }

  void start(std::vector<DeliveryJob> jobs, const DeliveryDone& done) override {
    for (auto& j : jobs)
      start_one(j, done);
  }
  void stop() override { worker_.stop(); }

private:
  void start_one(const DeliveryJob& j, const DeliveryDone& done) {
    auto t = std::make_shared<WebhookTransfer>();
    t->body = json::serialize(j.record);
    t->allow_private = cfg_.allow_private;
    t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
    t->headers = curl_slist_append(t->headers, ("Idempotency-Key: " + j.id).c_str());
    t->headers = curl_slist_append(t->headers, ("X-Waymark-Attempt: " + std::to_string(j.attempt)).c_str());
    t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
    for (auto& [k, v] : cfg_.headers)
      t->headers = curl_slist_append(t->headers, (k + ": " + v).c_str());
    CURL* e = curl_easy_init();
    if (!e) {
      done(j.seq, DeliveryOutcome{DeliveryOutcome::Status::retry, "curl_easy_init failed", 0, ""});
      return;
    }
    curl_easy_setopt(e, CURLOPT_URL, cfg_.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "waymark/1");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg_.connect_timeout_ms));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout_ms));
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    if (!cfg_.ca_file.empty())
      curl_easy_setopt(e, CURLOPT_CAINFO, cfg_.ca_file.c_str());
    uint64_t seq = j.seq;
    worker_.submit(e, [t, seq, done](CURL* easy, CURLcode rc) { done(seq, classify(easy, rc, *t)); });
  }

  ChannelConfig cfg_;
  CurlWorker worker_;
};

}  // namespace

int64_t parse_retry_after_ms(const std::string& value, int64_t now_s) {
  if (value.empty())
    return 0;
  if (std::all_of(value.begin(), value.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (value.size() > 9)
      return 0;
    return std::stoll(value) * 1000;
  }
  time_t at = curl_getdate(value.c_str(), nullptr);
  if (at < 0)
    return 0;
  return std::max<int64_t>(0, (static_cast<int64_t>(at) - now_s) * 1000);
}

Result<std::unique_ptr<Provider>> make_webhook_provider(const ChannelConfig& channel) {
  if (channel.url.empty())
    return make_error("bad_config", "channel '" + channel.name + "': webhook needs a url");
  return std::unique_ptr<Provider>(new WebhookProvider(channel));
}

}  // namespace waymark
