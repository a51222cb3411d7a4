#include "channel/providers/smtp/smtp_provider.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "channel/curl/curl_worker.hpp"
#include "waymark/time.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

constexpr size_t body_line_bytes_max = 900;  // RFC 5321 allows 998; beyond it, base64

std::string str_field(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {t[n >> 18], t[(n >> 12) & 63], t[(n >> 6) & 63], t[n & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += {t[n >> 18], t[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[n >> 18], t[(n >> 12) & 63], t[(n >> 6) & 63], '='};
  }
  return out;
}

bool plain_ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

/// A header value: as is when printable ASCII, else an RFC 2047 encoded word.
std::string header_text(std::string s) {
  std::replace(s.begin(), s.end(), '\r', ' ');
  std::replace(s.begin(), s.end(), '\n', ' ');
  return plain_ascii(s) ? s : "=?UTF-8?B?" + base64(s) + "?=";
}

/// Body with CRLF line ends; base64 (76-char lines) when a line is too long or not ASCII.
std::pair<std::string, std::string> body_text(const std::string& body) {
  bool simple = true;
  size_t line = 0;
  for (char c : body) {
    line = c == '\n' ? 0 : line + 1;
    if (line > body_line_bytes_max || (static_cast<unsigned char>(c) >= 0x80) || c == '\0')
      simple = false;
  }
  std::string out;
  if (simple) {
    for (size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '\r')
        continue;
      if (body[i] == '\n')
        out += "\r\n";
      else
        out += body[i];
    }
    return {"7bit", out};
  }
  std::string b = base64(body);
  for (size_t i = 0; i < b.size(); i += 76)
    out += b.substr(i, 76) + "\r\n";
  return {"base64", out};
}

std::string rfc5322_date(Millis at) {
  time_t t = static_cast<time_t>(at / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

/// "Name <a@b.c>" -> "a@b.c"; "a@b.c" as is.
std::string bare_address(const std::string& s) {
  auto lt = s.find('<'), gt = s.rfind('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt)
    return s.substr(lt + 1, gt - lt - 1);
  return s;
}

bool plain_address(const std::string& a) {
  return !a.empty() && a.find('@') != std::string::npos &&
         std::none_of(a.begin(), a.end(), [](char c) { return c <= ' ' || c == '<' || c == '>' || c == 0x7f; });
}

/// One mail's buffers; alive until the worker's finish callback returns.
struct SmtpTransfer {
  std::string message;
  size_t offset = 0;
  bool handed_over = false;  // every byte of the message was given to libcurl
  curl_slist* rcpt = nullptr;
  std::string mail_from;
  char error[CURL_ERROR_SIZE] = {};  // libcurl's own words (e.g. "STARTTLS not supported.")
  ~SmtpTransfer() { curl_slist_free_all(rcpt); }
};

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<SmtpTransfer*>(user);
  size_t len = std::min(size * n, t->message.size() - t->offset);
  std::memcpy(buf, t->message.data() + t->offset, len);
  t->offset += len;
  if (t->offset == t->message.size())  // libcurl stops asking once it has INFILESIZE bytes
    t->handed_over = true;
  return len;
}

DeliveryOutcome classify(CURL* easy, CURLcode rc, const SmtpTransfer& t) {
  using S = DeliveryOutcome::Status;
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  std::string detail = "SMTP " + std::to_string(code);
  if (rc == CURLE_OK)
    return {S::delivered, detail, 0, ""};
  detail += ": " + curl_error_text(rc, t.error);
  if (t.handed_over && (code == 354 || code == 0))
    return {S::unknown, "connection lost after the message data, before the server's reply (" + detail + ")", 0, ""};
  if (code >= 500 && code < 600)
    return {S::failed, detail, 0, ""};
  return {S::retry, detail, 0, ""};
}

class SmtpProvider : public Provider {
public:
  explicit SmtpProvider(ChannelConfig cfg) : cfg_(std::move(cfg)) {
    std::string from = bare_address(cfg_.from);
    auto at = from.find('@');
    std::string domain = at == std::string::npos ? "localhost" : from.substr(at + 1);
    url_ = "smtp://" + cfg_.host + ":" + std::to_string(cfg_.port) + "/" + domain;
  }
  ~SmtpProvider() override { stop(); }

  void start(std::vector<DeliveryJob> jobs, const DeliveryDone& done) override {
    for (auto& j : jobs)
      start_one(j, done);
  }
  void stop() override { worker_.stop(); }

private:
  void start_one(const DeliveryJob& j, const DeliveryDone& done) {
    auto msg = smtp_message(j.record, cfg_.from);
    if (!msg) {
      done(j.seq, DeliveryOutcome{DeliveryOutcome::Status::failed, msg.error().message, 0, ""});
      return;
    }
    auto t = std::make_shared<SmtpTransfer>();
    t->message = std::move(*msg);
    t->mail_from = "<" + bare_address(cfg_.from) + ">";
    t->rcpt = curl_slist_append(nullptr, ("<" + str_field(j.record, "to") + ">").c_str());
    CURL* e = curl_easy_init();
    if (!e) {
      done(j.seq, DeliveryOutcome{DeliveryOutcome::Status::retry, "curl_easy_init failed", 0, ""});
      return;
    }
    curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, t->mail_from.c_str());
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t->rcpt);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_INFILESIZE, static_cast<long>(t->message.size()));
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg_.connect_timeout_ms));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout_ms));
    if (cfg_.starttls)
      curl_easy_setopt(e, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!cfg_.ca_file.empty())
      curl_easy_setopt(e, CURLOPT_CAINFO, cfg_.ca_file.c_str());
    if (!cfg_.username.empty()) {
      curl_easy_setopt(e, CURLOPT_USERNAME, cfg_.username.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, cfg_.password.c_str());
    }
    uint64_t seq = j.seq;
    worker_.submit(e, [t, seq, done](CURL* easy, CURLcode rc) { done(seq, classify(easy, rc, *t)); });
  }

  ChannelConfig cfg_;
  std::string url_;
  CurlWorker worker_;
};

}  // namespace

std::string message_id_for(const std::string& key) {
  std::string local = key;
  for (char& c : local)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      c = '_';
  return "<" + local + "@waymark>";
}

Result<std::string> smtp_message(const json::object& record, const std::string& from) {
  std::string to = str_field(record, "to");
  if (!plain_address(to))
    return make_error("bad_address", "recipient '" + header_text(to) + "' is not a plain e-mail address");
  const json::object empty;
  auto* c = record.if_contains("content");
  const json::object& content = c && c->is_object() ? c->get_object() : empty;
  Millis at = 0;
  if (auto parsed = parse_rfc3339(str_field(record, "at")))
    at = *parsed;
  auto [encoding, body] = body_text(str_field(content, "body"));
  std::string m;
  m += "From: " + header_text(from) + "\r\n";
  m += "To: <" + to + ">\r\n";
  m += "Subject: " + header_text(str_field(content, "subject")) + "\r\n";
  m += "Date: " + rfc5322_date(at) + "\r\n";
  m += "Message-ID: " + message_id_for(str_field(record, "id")) + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/html; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: " + encoding + "\r\n";
  m += "X-Waymark-Journey: " + header_text(str_field(record, "journey") + "/" + str_field(record, "step")) + "\r\n";
  m += "\r\n";
  m += body;
  return m;
}

Result<std::unique_ptr<Provider>> make_smtp_provider(const ChannelConfig& channel) {
  if (channel.host.empty() || channel.from.empty())
    return make_error("bad_config", "channel '" + channel.name + "': smtp needs host and from");
  return std::unique_ptr<Provider>(new SmtpProvider(channel));
}

}  // namespace waymark
