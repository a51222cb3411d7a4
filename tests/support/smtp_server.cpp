#include "support/smtp_server.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace waymark::it {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string angle(const std::string& arg) {
  auto lt = arg.find('<'), gt = arg.find('>');
  if (lt == std::string::npos || gt == std::string::npos || gt < lt)
    return arg;
  return arg.substr(lt + 1, gt - lt - 1);
}

void parse_message(const std::string& data, ReceivedMail& m) {
  auto split = data.find("\r\n\r\n");
  std::string head = data.substr(0, split);
  m.body = split == std::string::npos ? "" : data.substr(split + 4);
  std::string last;
  size_t pos = 0;
  while (pos < head.size()) {
    auto nl = head.find("\r\n", pos);
    std::string line = head.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? head.size() : nl + 2;
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !last.empty()) {
      m.headers[last] += line;
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    last = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    m.headers[last] = value;
  }
}

}  // namespace

std::string ReceivedMail::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

bool SmtpServer::start() {
  return server_.start([this](int fd) { serve(fd); });
}

void SmtpServer::drop_after_data(int n) {
  std::lock_guard<std::mutex> g(mu_);
  drops_left_ = n;
}

void SmtpServer::refuse_mail(bool on) {
  std::lock_guard<std::mutex> g(mu_);
  refuse_ = on;
}

bool SmtpServer::take_drop() {
  std::lock_guard<std::mutex> g(mu_);
  if (drops_left_ <= 0)
    return false;
  --drops_left_;
  return true;
}

struct SmtpServer::Session {
  explicit Session(int fd) : conn(fd) {}
  Conn conn;
  std::string buf;
  ReceivedMail cur;
  std::string auth_user;
};

void SmtpServer::require_auth(const std::string& user, const std::string& password) {
  std::lock_guard<std::mutex> g(mu_);
  user_ = user;
  password_ = password;
}

void SmtpServer::serve(int fd) {
  Session s(fd);
  if (!write_all(s.conn, "220 waymark-test ESMTP\r\n"))
    return;
  std::string line;
  while (read_line(s.conn, s.buf, line))
    if (!command(s, line))
      return;
}

bool SmtpServer::command(Session& s, const std::string& line) {
  std::string verb = lower(line.substr(0, 4));
  bool auth_offered;
  {
    std::lock_guard<std::mutex> g(mu_);
    auth_offered = !user_.empty() && (s.conn.tls() || !tls_);
  }
  std::string reply = "250 OK\r\n";
  if (verb == "ehlo") {
    reply = "250-waymark-test\r\n";
    if (tls_ && !s.conn.tls())
      reply += "250-STARTTLS\r\n";
    if (auth_offered)
      reply += "250-AUTH PLAIN\r\n";
    reply += "250 8BITMIME\r\n";
  } else if (verb == "helo" || verb == "noop") {
  } else if (verb == "star") {
    return starttls(s);
  } else if (verb == "auth") {
    return auth(s, line);
  } else if (verb == "mail") {
    std::lock_guard<std::mutex> g(mu_);
    if (!user_.empty() && s.auth_user.empty())
      reply = "530 5.7.0 authentication required\r\n";
    else if (refuse_)
      reply = "451 try again later\r\n";
    s.cur = ReceivedMail{};
    s.cur.mail_from = angle(line.substr(5));
  } else if (verb == "rcpt") {
    s.cur.rcpt_to.push_back(angle(line.substr(3)));
  } else if (verb == "rset") {
    s.cur = ReceivedMail{};
  } else if (verb == "quit") {
    write_all(s.conn, "221 bye\r\n");
    return false;
  } else if (verb == "data") {
    return data(s);
  } else {
    reply = "502 not implemented\r\n";
  }
  return write_all(s.conn, reply);
}

bool SmtpServer::data(Session& s) {
  if (!write_all(s.conn, "354 go ahead\r\n"))
    return false;
  std::string data, line;
  bool complete = false;
  while (read_line(s.conn, s.buf, line)) {
    if (line == ".") {
      complete = true;
      break;
    }
    data += (line.size() > 1 && line[0] == '.' ? line.substr(1) : line) + "\r\n";
  }
  if (!complete)
    return false;
  parse_message(data, s.cur);
  s.cur.over_tls = s.conn.tls();
  s.cur.auth_user = s.auth_user;
  bool drop = take_drop();
  s.cur.acknowledged = !drop;
  {
    std::lock_guard<std::mutex> g(mu_);
    mails_.push_back(s.cur);
  }
  cv_.notify_all();
  if (drop)
    return false;  // connection lost before the reply
  return write_all(s.conn, "250 queued\r\n");
}

bool SmtpServer::starttls(Session& s) {
  if (!tls_ || s.conn.tls())
    return write_all(s.conn, "502 not implemented\r\n");
  if (!write_all(s.conn, "220 ready to start TLS\r\n"))
    return false;
  s.buf.clear();  // RFC 3207: nothing sent in clear before the handshake counts
  if (!s.conn.start_tls(tls_)) {
    std::lock_guard<std::mutex> g(mu_);
    ++tls_failures_;
    return false;
  }
  s.cur = ReceivedMail{};
  s.auth_user.clear();
  return true;
}

// "AUTH PLAIN [initial-response]": base64 of authzid NUL user NUL password.
bool SmtpServer::auth(Session& s, const std::string& line) {
  std::istringstream words(line);
  std::string verb, mechanism, response;
  words >> verb >> mechanism >> response;
  std::string user, password;
  {
    std::lock_guard<std::mutex> g(mu_);
    user = user_;
    password = password_;
  }
  bool offered = !user.empty() && (s.conn.tls() || !tls_);
  if (lower(mechanism) != "plain" || (!offered && response.empty()))
    return write_all(s.conn, "504 5.5.4 mechanism not offered\r\n");
  if (response.empty() && (!write_all(s.conn, "334 \r\n") || !read_line(s.conn, s.buf, response)))
    return false;
  std::string plain(response.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(plain.data()),
                          reinterpret_cast<const unsigned char*>(response.data()), static_cast<int>(response.size()));
  plain.resize(n < 0 ? 0 : static_cast<size_t>(n));
  while (!response.empty() && response.back() == '=' && !plain.empty()) {  // EVP_DecodeBlock counts padding
    response.pop_back();
    plain.pop_back();
  }
  auto a = plain.find('\0');
  auto b = a == std::string::npos ? a : plain.find('\0', a + 1);
  AuthAttempt at;
  if (b != std::string::npos) {
    at.user = plain.substr(a + 1, b - a - 1);
    at.password = plain.substr(b + 1);
  }
  at.over_tls = s.conn.tls();
  at.accepted = offered && at.user == user && at.password == password;
  {
    std::lock_guard<std::mutex> g(mu_);
    auth_attempts_.push_back(at);
  }
  if (!at.accepted)
    return write_all(s.conn, "535 5.7.8 authentication credentials invalid\r\n");
  s.auth_user = at.user;
  return write_all(s.conn, "235 2.7.0 authentication successful\r\n");
}

std::vector<ReceivedMail> SmtpServer::mails() const {
  std::lock_guard<std::mutex> g(mu_);
  return mails_;
}

std::vector<AuthAttempt> SmtpServer::auth_attempts() const {
  std::lock_guard<std::mutex> g(mu_);
  return auth_attempts_;
}

size_t SmtpServer::tls_failures() const {
  std::lock_guard<std::mutex> g(mu_);
  return tls_failures_;
}

bool SmtpServer::wait_for(size_t n, int timeout_ms) {
  std::unique_lock<std::mutex> g(mu_);
  return cv_.wait_for(g, std::chrono::milliseconds(timeout_ms), [&] { return mails_.size() >= n; });
}

}  // namespace waymark::it
