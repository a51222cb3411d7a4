#include "channel/curl/curl_worker.hpp"

namespace waymark {

void curl_global_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string curl_error_text(CURLcode rc, const char* error_buffer) {
  std::string text = curl_easy_strerror(rc);
  std::string more = error_buffer ? error_buffer : "";
  while (!more.empty() && (more.back() == '\n' || more.back() == '.'))
    more.pop_back();
  return more.empty() ? text : text + " (" + more + ")";
}

CurlWorker::CurlWorker() {
  curl_global_once();
  multi_ = curl_multi_init();
}

CurlWorker::~CurlWorker() {
  stop();
  for (auto& [easy, fin] : queued_)
    curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
}

void CurlWorker::submit(CURL* easy, Finish finish) {
  std::lock_guard<std::mutex> g(mu_);
  if (stopping_) {
    curl_easy_cleanup(easy);
    return;
  }
  queued_.emplace_back(easy, std::move(finish));
  if (!thread_.joinable())
    thread_ = std::thread([this] { run(); });
  curl_multi_wakeup(multi_);
}

void CurlWorker::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stopping_)
      return;
    stopping_ = true;
    curl_multi_wakeup(multi_);
  }
  if (thread_.joinable())
    thread_.join();
}

void CurlWorker::finish_done() {
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg != CURLMSG_DONE)
      continue;
    CURL* easy = m->easy_handle;
    CURLcode rc = m->data.result;
    curl_multi_remove_handle(multi_, easy);
    Finish fin;  // outlives the handle: it owns buffers the handle points to
    auto it = active_.find(easy);
    if (it != active_.end()) {
      fin = std::move(it->second);
      active_.erase(it);
      fin(easy, rc);
    }
    curl_easy_cleanup(easy);
  }
}

void CurlWorker::run() {
  for (;;) {
    std::vector<std::pair<CURL*, Finish>> incoming;
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stopping_)
        break;
      incoming.swap(queued_);
    }
    for (auto& [easy, fin] : incoming) {
      active_.emplace(easy, std::move(fin));
      curl_multi_add_handle(multi_, easy);
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    finish_done();
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
  for (auto& [easy, fin] : active_) {
    curl_multi_remove_handle(multi_, easy);
    curl_easy_cleanup(easy);
  }
  active_.clear();  // after the handles: the closures own their buffers
}

}  // namespace waymark
