// A real (minimal) SMTP server on 127.0.0.1:<free port> for delivery tests:
// greeting, EHLO/HELO, MAIL FROM, RCPT TO, DATA (dot-unstuffed), RSET, NOOP,
// QUIT, on a thread per connection. Every mail whose data arrived is recorded
// with its envelope and headers. `drop_after_data(n)` makes the server close
// the connection after receiving the next n messages' data without replying,
// to play "connection lost before the server's reply".
//
// Optional, set before start(): STARTTLS (offered in EHLO when the server has
// a TLS context; the session then restarts inside TLS) and AUTH PLAIN (offered
// once the session is in TLS, or in clear when the server has no TLS, to catch
// a client that would send its password in clear); with credentials set, MAIL
// needs a successful AUTH. Every AUTH attempt is recorded.
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
  bool over_tls = false;                       // the session was in TLS (STARTTLS)
  std::string auth_user;                       // who authenticated the session ("" = nobody)
  std::string header(const std::string& lower_name) const;
};

struct AuthAttempt {
  std::string user, password;
  bool over_tls = false;
  bool accepted = false;
};

class SmtpServer {
public:
  SmtpServer() = default;
  /// Offer STARTTLS with this context (not owned; must outlive the server).
  void offer_starttls(ssl_ctx_st* tls) { tls_ = tls; }
  /// Offer AUTH PLAIN and accept only these credentials; MAIL then needs AUTH.
  void require_auth(const std::string& user, const std::string& password);
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
  std::vector<AuthAttempt> auth_attempts() const;
  /// TLS handshakes after STARTTLS that the client broke off.
  size_t tls_failures() const;

private:
  struct Session;
  void serve(int fd);
  bool take_drop();
  /// One command of a session; false ends the connection.
  bool command(Session& s, const std::string& line);
  bool data(Session& s);
  bool auth(Session& s, const std::string& line);
  bool starttls(Session& s);

  LoopbackServer server_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedMail> mails_;
  int drops_left_ = 0;
  bool refuse_ = false;
  ssl_ctx_st* tls_ = nullptr;
  std::string user_, password_;
  std::vector<AuthAttempt> auth_attempts_;
  size_t tls_failures_ = 0;
};

}  // namespace waymark::it
