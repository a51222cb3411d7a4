#include "support/smtp_server.hpp"

#include <algorithm>
#include <cctype>

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

void SmtpServer::serve(int fd) {
  std::string buf, line;
  ReceivedMail cur;
  if (!write_all(fd, "220 waymark-test ESMTP\r\n"))
    return;
  while (read_line(fd, buf, line)) {
    std::string verb = lower(line.substr(0, 4));
    std::string reply = "250 OK\r\n";
    if (verb == "ehlo") {
      reply = "250-waymark-test\r\n250 8BITMIME\r\n";
    } else if (verb == "helo" || verb == "noop") {
    } else if (verb == "mail") {
      bool refuse;
      {
        std::lock_guard<std::mutex> g(mu_);
        refuse = refuse_;
      }
      if (refuse)
        reply = "451 try again later\r\n";
      cur = ReceivedMail{};
      cur.mail_from = angle(line.substr(5));
    } else if (verb == "rcpt") {
      cur.rcpt_to.push_back(angle(line.substr(3)));
    } else if (verb == "rset") {
      cur = ReceivedMail{};
    } else if (verb == "quit") {
      write_all(fd, "221 bye\r\n");
      return;
    } else if (verb == "data") {
      if (!write_all(fd, "354 go ahead\r\n"))
        return;
      std::string data;
      bool complete = false;
      while (read_line(fd, buf, line)) {
        if (line == ".") {
          complete = true;
          break;
        }
        data += (line.size() > 1 && line[0] == '.' ? line.substr(1) : line) + "\r\n";
      }
      if (!complete)
        return;
      parse_message(data, cur);
      bool drop = take_drop();
      cur.acknowledged = !drop;
      {
        std::lock_guard<std::mutex> g(mu_);
        mails_.push_back(cur);
      }
      cv_.notify_all();
      if (drop)
        return;  // connection lost before the reply
      reply = "250 queued\r\n";
    } else {
      reply = "502 not implemented\r\n";
    }
    if (!write_all(fd, reply))
      return;
  }
}

std::vector<ReceivedMail> SmtpServer::mails() const {
  std::lock_guard<std::mutex> g(mu_);
  return mails_;
}

bool SmtpServer::wait_for(size_t n, int timeout_ms) {
  std::unique_lock<std::mutex> g(mu_);
  return cv_.wait_for(g, std::chrono::milliseconds(timeout_ms), [&] { return mails_.size() >= n; });
}

}  // namespace waymark::it
