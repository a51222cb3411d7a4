// `waymark send` client against a tiny in-test TCP gateway on 127.0.0.1:0
// that acks, nacks lines containing "bad", and ends on lines containing "fatal".
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "cli/send.hpp"

namespace wc = waymark::cli;

namespace {

struct GatewayBehavior {
  size_t window = 0;         // 0: ack after every read; N: ack only when N lines are pending
  size_t close_after = 0;    // 0: never; N: close after reading N lines, without acking them
};

// Accepts one connection and answers per the protocol (PRODUCT.md §5).
class FakeGateway {
public:
  explicit FakeGateway(GatewayBehavior b = {}) : behavior_(b) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listen_fd_, 4);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeGateway() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  // Valid after the client has finished (the thread writes them before closing).
  std::vector<std::string> lines() {
    thread_.join();
    thread_ = std::thread([] {});
    return lines_;
  }
  bool window_violated() const { return window_violated_; }

private:
  void serve() {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    std::string buf;
    char tmp[65536];
    uint64_t received = 0, acked = 0;
    for (;;) {
      auto n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) break;
      buf.append(tmp, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        auto line = buf.substr(start, nl - start);
        lines_.push_back(line);
        ++received;
        if (line.find("fatal") != std::string::npos) {
          say(fd, R"({"error":"bad hello","fatal":true})");
          ::shutdown(fd, SHUT_WR);  // graceful: let the client read the error
          while (::recv(fd, tmp, sizeof tmp, 0) > 0) {
          }
          ::close(fd);
          return;
        }
        if (line.find("bad") != std::string::npos) {
          say(fd, R"({"nack":)" + std::to_string(received) + R"(,"error":"bad JSON at 1"})");
        }
        if (behavior_.close_after && received == behavior_.close_after) {
          ::close(fd);
          return;
        }
        if (behavior_.window && received - acked == behavior_.window) {
          // A client that respects the window sends nothing more until this ack.
          pollfd p{fd, POLLIN, 0};
          if (buf.find('\n', nl + 1) != std::string::npos || ::poll(&p, 1, 200) > 0) {
            window_violated_ = true;
          }
          acked = received;
          say(fd, R"({"ack":)" + std::to_string(acked) + "}");
        }
      }
      buf.erase(0, start);
      if (!behavior_.window && !behavior_.close_after && received > acked) {
        acked = received;
        say(fd, R"({"ack":)" + std::to_string(acked) + "}");
      }
    }
    ::close(fd);
  }
  static void say(int fd, const std::string& msg) {
    auto line = msg + "\n";
    ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  }

  GatewayBehavior behavior_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::string> lines_;
  std::atomic<bool> window_violated_{false};
};

wc::SendOptions options_for(const FakeGateway& g) {
  wc::SendOptions o;
  o.port = g.port();
  o.ack_timeout = std::chrono::seconds(10);  // a hung test fails instead of hanging
  return o;
}

std::string events(int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) {
    out += R"({"type":"track","userId":"u)" + std::to_string(i) + R"(","event":"E"})" + "\n";
  }
  return out;
}

TEST(SendEvents, AllLinesAckedGivesACleanSummaryAndBlankLinesAreNotSent) {
  FakeGateway g;
  std::istringstream in("{\"a\":1}\n\n{\"a\":2}\n   \n{\"a\":3}\r\n");
  auto s = wc::send_events(in, options_for(g), nullptr);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->sent, 3u);
  EXPECT_EQ(s->acked, 3u);
  EXPECT_EQ(s->nacked, 0u);
  EXPECT_TRUE(s->ok());
  auto lines = g.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], "{\"a\":3}");
  EXPECT_EQ(wc::format_summary(*s).rfind("sent 3 events, acked 3, nacked 0, ", 0), 0u);
}

TEST(SendEvents, NackedLinesAreCountedWithTheirInputLineNumbers) {
  FakeGateway g;
  std::istringstream in("{\"a\":1}\n\n{bad\n{\"a\":2}\n{\"a\":3}\nbad again\n");
  auto s = wc::send_events(in, options_for(g), nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->sent, 5u);
  EXPECT_EQ(s->nacked, 2u);
  EXPECT_EQ(s->acked, 3u);
  EXPECT_FALSE(s->ok());
  ASSERT_EQ(s->first_nacks.size(), 2u);
  EXPECT_EQ(s->first_nacks[0].line, 3u);
  EXPECT_EQ(s->first_nacks[1].line, 6u);
  auto text = wc::format_summary(*s);
  EXPECT_NE(text.find("line 3: bad JSON at 1\n"), std::string::npos);
  EXPECT_NE(text.find("line 6: bad JSON at 1\n"), std::string::npos);
}

TEST(SendEvents, OnlyTheFirstFiveNackErrorsAreKept) {
  FakeGateway g;
  std::istringstream in(std::string(8, 'x') + "\n" + [] {
    std::string s;
    for (int i = 0; i < 7; ++i) s += "bad\n";
    return s;
  }());
  auto s = wc::send_events(in, options_for(g), nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->nacked, 7u);
  EXPECT_EQ(s->first_nacks.size(), 5u);
  EXPECT_EQ(s->first_nacks.front().line, 2u);
}

TEST(SendEvents, WriteKeySendsAHelloFirstThatIsNotCountedAsAnEvent) {
  FakeGateway g;
  auto o = options_for(g);
  o.write_key = "k1";
  std::istringstream in(events(3));
  auto s = wc::send_events(in, o, nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->sent, 3u);
  EXPECT_EQ(s->acked, 3u);
  EXPECT_TRUE(s->ok());
  auto lines = g.lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], R"({"type":"hello","writeKey":"k1"})");
}

TEST(SendEvents, AFatalErrorFromTheServerEndsTheSend) {
  FakeGateway g;
  std::istringstream in("{\"a\":1}\n{\"fatal\":1}\n" + events(100));
  auto s = wc::send_events(in, options_for(g), nullptr);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->fatal.has_value());
  EXPECT_EQ(*s->fatal, "bad hello");
  EXPECT_FALSE(s->ok());
}

TEST(SendEvents, ConnectionLossBeforeTheLastAckIsReported) {
  FakeGateway g(GatewayBehavior{0, 2});
  std::istringstream in(events(5));
  auto s = wc::send_events(in, options_for(g), nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->connection_error.has_value());
  EXPECT_LT(s->acked, s->sent);
  EXPECT_FALSE(s->ok());
}

TEST(SendEvents, NeverMoreThanTheWindowIsInFlight) {
  FakeGateway g(GatewayBehavior{4, 0});
  auto o = options_for(g);
  o.unacked_max = 4;
  std::istringstream in(events(12));
  auto s = wc::send_events(in, o, nullptr);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->acked, 12u);
  EXPECT_FALSE(g.window_violated());
}

TEST(SendEvents, AStreamLargerThanTheWindowIsFullyAcked) {
  FakeGateway g;
  auto o = options_for(g);
  o.unacked_max = 1000;
  std::istringstream in(events(50000));
  std::ostringstream progress;
  o.input_bytes_total = in.str().size();
  auto s = wc::send_events(in, o, &progress);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->sent, 50000u);
  EXPECT_EQ(s->acked, 50000u);
  EXPECT_TRUE(s->ok());
}

TEST(SendEvents, NoListeningServerIsAConnectError) {
  uint16_t port;
  {
    FakeGateway g;  // bound, then closed: nothing listens on the port any more
    port = g.port();
  }
  wc::SendOptions o;
  o.port = port;
  std::istringstream in(events(1));
  auto s = wc::send_events(in, o, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "connect_failed");
}

}  // namespace
