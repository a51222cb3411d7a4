// A real (minimal) SMTP server on 127.0.0.1:<free port> for delivery tests:
// greeting, EHLO/HELO, MAIL FROM, RCPT TO, DATA (dot-unstuffed), RSET, NOOP,
// QUIT, on a thread per connection. Every mail whose data arrived is recorded
// with its envelope and headers. `drop_after_data(n)` makes the server close
// the connection after receiving the next n messages' data without replying,
// to play "connection lost before the server's reply".
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "support/http_receiver.hpp"

namespace waymark::it {

struct ReceivedMail {
  std::string mail_from;                       // envelope, without <>
  std::vector<std::string> rcpt_to;            // envelope, without <>
  std::map<std::string, std::string> headers;  // lower-case names (unfolded)
  std::string body;                            // after the blank line, CRLF kept
  bool acknowledged = false;                   // the server answered 250 to the data
  std::string header(const std::string& lower_name) const;
};

class SmtpServer {
public:
  SmtpServer() = default;
  ~SmtpServer() { stop(); }
  bool start();
  void stop() { server_.stop(); }
  uint16_t port() const { return server_.port(); }
  size_t connections() { return server_.connections(); }

  /// The next `n` messages are received and then the connection is closed without a reply.
  void drop_after_data(int n);
  /// While on, MAIL FROM is answered "451 try again later" (a transient refusal).
  void refuse_mail(bool on);
  std::vector<ReceivedMail> mails() const;
  bool wait_for(size_t n, int timeout_ms);

private:
  void serve(int fd);
  bool take_drop();

  LoopbackServer server_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedMail> mails_;
  int drops_left_ = 0;
  bool refuse_ = false;
};

}  // namespace waymark::it
