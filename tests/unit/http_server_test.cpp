// HTTP server, router and client over real sockets on 127.0.0.1 (port 0).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core/string.hpp>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "http/client.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace wh = waymark::http;

namespace {

// A raw blocking TCP client for what the HTTP client will not send.
class RawConn {
public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{10, 0};  // a hung server fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConn() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      auto n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads one response (headers + Content-Length body). "" on EOF/timeout.
  std::string read_response() {
    for (;;) {
      auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t len = content_length(buf_.substr(0, end));
        if (buf_.size() >= end + 4 + len) {
          auto out = buf_.substr(0, end + 4 + len);
          buf_.erase(0, end + 4 + len);
          return out;
        }
      }
      if (!fill()) return "";
    }
  }
  // True when the server closed the connection within `ms` (waits with poll).
  // (EOF or reset: a byte sent after the close may turn the FIN into a reset).
  bool readable_eof_within_ms(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return false;
    char tmp[4096];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) buf_.append(tmp, static_cast<size_t>(n));
    return n <= 0;
  }
  // True when the server closed the connection (EOF) before sending more.
  bool at_eof() {
    while (buf_.empty()) {
      if (!fill()) return eof_;
    }
    return false;
  }

private:
  bool fill() {
    char tmp[4096];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n == 0) eof_ = true;
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  static size_t content_length(const std::string& head) {
    auto p = head.find("Content-Length: ");
    return p == std::string::npos ? 0 : std::stoul(head.substr(p + 16));
  }
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

// Polls `counter` until it reaches `n` (at most 2 s): a timed-out socket is
// closed a moment before the server's handler counts it.
bool reaches(const std::atomic<uint64_t>& counter, uint64_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (counter.load() < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return counter.load() == n;
}

// Polls `fact` (every 1 ms, at most 5 s).
template <class F>
bool eventually(F fact) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!fact() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return fact();
}

int status_of(const std::string& raw) { return raw.size() > 12 ? std::stoi(raw.substr(9, 3)) : 0; }

std::string header_of(const wh::Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (boost::beast::iequals(n, name)) return v;
  }
  return "";
}

// A server with a router: GET/PUT /api/journeys/{id}, POST /echo, GET /later.
class HttpServerTest : public ::testing::Test {
protected:
  void SetUp() override {
    router_.add("GET", "/api/journeys/{id}", wh::Access::open, [](wh::Request&& req, const wh::Params& p,
                                                 wh::Responder respond) {
      respond(wh::json_response(200, {{"id", p.at("id")}, {"q", req.query["q"]}}));
    });
    router_.add("PUT", "/api/journeys/{id}", wh::Access::open, [](wh::Request&& req, const wh::Params& p,
                                                 wh::Responder respond) {
      respond(wh::json_response(201, {{"id", p.at("id")}, {"body", req.body}}));
    });
    router_.add("POST", "/echo", wh::Access::open, [](wh::Request&& req, const wh::Params&, wh::Responder respond) {
      respond(wh::json_response(200, {{"body", req.body}}));
    });
    router_.add("GET", "/later", wh::Access::open, [this](wh::Request&&, const wh::Params&, wh::Responder respond) {
      std::lock_guard<std::mutex> lk(mu_);
      later_.push_back(std::move(respond));
      cv_.notify_all();
    });
    wh::ServerOptions opt;
    opt.body_bytes_max = 1024;
    opt.threads = 2;
    opt.connections_max = 4;
    server_ = std::make_unique<wh::Server>(opt, [this](wh::Request&& r, wh::Responder respond) {
      router_(std::move(r), std::move(respond));
    });
    auto port = server_->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
  }

  wh::Responder wait_for_later() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [this] { return !later_.empty(); });
    auto r = std::move(later_.front());
    later_.erase(later_.begin());
    return r;
  }

  wh::Router router_{[](wh::Access, const wh::Request&) { return std::optional<wh::Response>(); }};
  std::unique_ptr<wh::Server> server_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<wh::Responder> later_;
};

TEST_F(HttpServerTest, GetRoutesToHandlerWithDecodedPathParamAndQuery) {
  auto r = wh::request("127.0.0.1", port_, "GET", "/api/journeys/trial%20onboarding?q=a+b%21");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "application/json");
  auto v = boost::json::parse(r->body);
  EXPECT_EQ(v.at("id").as_string(), "trial onboarding");
  EXPECT_EQ(v.at("q").as_string(), "a b!");
  EXPECT_EQ(header_of(*r, "Content-Length"), std::to_string(r->body.size()));
}

TEST_F(HttpServerTest, PutDeliversTheBody) {
  auto r = wh::request("127.0.0.1", port_, "PUT", "/api/journeys/j1", R"({"a":1})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 201);
  auto v = boost::json::parse(r->body);
  EXPECT_EQ(v.at("id").as_string(), "j1");
  EXPECT_EQ(v.at("body").as_string(), R"({"a":1})");
}

TEST_F(HttpServerTest, UnknownPathIs404) {
  auto r = wh::request("127.0.0.1", port_, "GET", "/api/nothing/here");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(boost::json::parse(r->body).at("error").as_string(), "not found");
}

TEST_F(HttpServerTest, KnownPathWithOtherMethodIs405WithAllowHeader) {
  auto r = wh::request("127.0.0.1", port_, "DELETE", "/api/journeys/j1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(header_of(*r, "Allow"), "GET, PUT");
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413BeforeTheBodyIsSent) {
  RawConn c(port_);
  ASSERT_TRUE(c.connected());
  // Announce 10 MB but send none of it: the answer must come from the headers alone.
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
  auto res = c.read_response();
  EXPECT_EQ(status_of(res), 413);
  EXPECT_NE(res.find(R"({"error":"request body too large"})"), std::string::npos);
  EXPECT_TRUE(c.at_eof());
}

TEST_F(HttpServerTest, BodyOverTheLimitSentInFullStillGets413) {
  auto r = wh::request("127.0.0.1", port_, "POST", "/echo", std::string(200000, 'x'));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 413);
}

TEST_F(HttpServerTest, BodyUnderTheLimitIsAccepted) {
  auto r = wh::request("127.0.0.1", port_, "POST", "/echo", std::string(1000, 'x'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, GarbageIs400AndTheConnectionCloses) {
  RawConn c(port_);
  ASSERT_TRUE(c.connected());
  c.send("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(status_of(c.read_response()), 400);
  EXPECT_TRUE(c.at_eof());
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  RawConn c(port_);
  ASSERT_TRUE(c.connected());
  c.send("GET /api/journeys/a HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = c.read_response();
  c.send("GET /api/journeys/b HTTP/1.1\r\nHost: x\r\n\r\n");
  auto second = c.read_response();
  EXPECT_EQ(status_of(first), 200);
  EXPECT_NE(first.find(R"("id":"a")"), std::string::npos);
  EXPECT_EQ(status_of(second), 200);
  EXPECT_NE(second.find(R"("id":"b")"), std::string::npos);
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  RawConn c(port_);
  c.send("GET /api/journeys/a HTTP/1.1\r\nHost: x\r\n\r\nGET /api/journeys/b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.read_response().find(R"("id":"a")"), std::string::npos);
  EXPECT_NE(c.read_response().find(R"("id":"b")"), std::string::npos);
}

TEST_F(HttpServerTest, ResponderCalledLaterFromAnotherThreadAnswers) {
  auto fut = std::async(std::launch::async,
                        [this] { return wh::request("127.0.0.1", port_, "GET", "/later"); });
  auto respond = wait_for_later();
  std::thread([respond] { respond(wh::json_response(202, {{"late", true}})); }).join();
  auto r = fut.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, R"({"late":true})");
}

TEST_F(HttpServerTest, ResponderAfterStopIsDroppedSilently) {
  RawConn c(port_);
  c.send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
  auto respond = wait_for_later();
  server_->stop();
  respond(wh::json_response(200, {{"late", true}}));  // must not crash or hang
  EXPECT_TRUE(c.at_eof());
}

TEST_F(HttpServerTest, ConnectionsOverTheMaximumGet503WhenNoneIsIdle) {
  std::vector<std::unique_ptr<RawConn>> held;
  std::vector<wh::Responder> busy;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawConn>(port_));
    held.back()->send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    busy.push_back(wait_for_later());  // accepted, registered and busy
  }
  RawConn extra(port_);
  EXPECT_EQ(status_of(extra.read_response()), 503);
  EXPECT_TRUE(extra.at_eof());
  for (auto& r : busy) r(wh::json_response(200, {}));
}

TEST_F(HttpServerTest, AtTheMaximumTheLongestIdleConnectionMakesRoom) {
  std::vector<std::unique_ptr<RawConn>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawConn>(port_));
    held.back()->send("GET /api/journeys/a HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(status_of(held.back()->read_response()), 200);
    // The server marks a connection idle after it wrote the answer, which the
    // client may read first: wait for the mark so they go idle oldest first.
    ASSERT_TRUE(eventually([&] { return server_->idle_connections() == held.size(); })) << i;
  }
  auto evicted_before = wh::server_stats().closed_evicted.load();
  RawConn extra(port_);
  extra.send("GET /api/journeys/b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(extra.read_response()), 200);
  EXPECT_TRUE(held.front()->at_eof()) << "the longest-idle connection was not closed";
  EXPECT_TRUE(reaches(wh::server_stats().closed_evicted, evicted_before + 1));
  held.back()->send("GET /api/journeys/c HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(held.back()->read_response()), 200) << "a more recent connection was closed";
}

TEST_F(HttpServerTest, StopClosesOpenConnectionsAndIsIdempotent) {
  RawConn c(port_);
  c.send("GET /api/journeys/a HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(status_of(c.read_response()), 200);
  server_->stop();
  server_->stop();
  EXPECT_TRUE(c.at_eof());
  EXPECT_EQ(server_->open_connections(), 0u);
  EXPECT_FALSE(wh::request("127.0.0.1", port_, "GET", "/api/journeys/a").ok());
}

TEST(HttpServerIdle, IdleConnectionIsClosedAfterTheTimeout) {
  wh::ServerOptions opt;
  opt.idle_timeout_s = 1;
  wh::Server server(opt, [](wh::Request&&, wh::Responder r) { r(wh::Response{}); });
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  RawConn c(*port);
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(status_of(c.read_response()), 200);
  auto idle_before = wh::server_stats().closed_idle.load();
  EXPECT_TRUE(c.at_eof());  // the socket's 10 s receive timeout would report false
  EXPECT_TRUE(reaches(wh::server_stats().closed_idle, idle_before + 1));
}

TEST(HttpServerIdle, ConnectionWithoutARequestIsClosedAfterTheRequestTimeout) {
  wh::ServerOptions opt;
  opt.request_timeout_s = 1;  // idle_timeout_s stays 60: the first request has the short bound
  wh::Server server(opt, [](wh::Request&&, wh::Responder r) { r(wh::Response{}); });
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  auto slow_before = wh::server_stats().closed_slow.load();
  RawConn c(*port);
  EXPECT_TRUE(c.at_eof());
  EXPECT_TRUE(reaches(wh::server_stats().closed_slow, slow_before + 1));
}

TEST(HttpServerIdle, HalfSentRequestIsClosedAfterTheRequestTimeoutEvenIfBytesTrickle) {
  wh::ServerOptions opt;
  opt.request_timeout_s = 2;
  wh::Server server(opt, [](wh::Request&&, wh::Responder r) { r(wh::Response{}); });
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  RawConn c(*port);
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(status_of(c.read_response()), 200);
  auto start = std::chrono::steady_clock::now();
  c.send("GET / HTTP/1.1\r\n");
  // One header byte every 200 ms: each read makes progress, the request never ends.
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    c.send("X");
    closed = c.readable_eof_within_ms(200);
  }
  EXPECT_TRUE(closed) << "a trickled request was never closed";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(HttpServerThrow, HandlerThatThrowsGets500) {
  wh::Server server(wh::ServerOptions{}, [](wh::Request&&, wh::Responder) {
    throw std::runtime_error("boom");
  });
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  auto r = wh::request("127.0.0.1", *port, "GET", "/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
}

TEST(HttpHelpers, BearerTokenAndBasicAuthUserAreExtracted) {
  wh::Request req;
  req.headers["authorization"] = "Bearer  tok123 ";
  EXPECT_EQ(wh::bearer_token(req).value_or(""), "tok123");
  EXPECT_FALSE(wh::basic_auth_user(req));
  req.headers["authorization"] = "Basic d2tleTo=";  // "wkey:"
  EXPECT_EQ(wh::basic_auth_user(req).value_or("?"), "wkey");
  req.headers["authorization"] = "basic dXNlcjpwYXNz";  // "user:pass"
  EXPECT_EQ(wh::basic_auth_user(req).value_or("?"), "user");
  req.headers.clear();
  EXPECT_FALSE(wh::bearer_token(req));
}

TEST(HttpHelpers, ErrorResponseHasAnErrorField) {
  auto r = wh::error_response(422, "bad");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, R"({"error":"bad"})");
}

TEST(HttpClient, ParseUrlAcceptsHostPortAndIgnoresThePath) {
  auto a = wh::parse_url("http://127.0.0.1:7480");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 7480);
  auto b = wh::parse_url("http://[::1]:9/x/y");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  EXPECT_EQ(b->second, 9);
  EXPECT_EQ(wh::parse_url("localhost")->second, 80);
  EXPECT_FALSE(wh::parse_url("https://x:1").ok());
  EXPECT_FALSE(wh::parse_url("http://x:99999").ok());
}

TEST(HttpClient, ConnectionRefusedIsAnError) {
  wh::Server server(wh::ServerOptions{}, [](wh::Request&&, wh::Responder r) { r({}); });
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  server.stop();
  auto r = wh::request("127.0.0.1", *port, "GET", "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "connect_failed");
}

}  // namespace

// A streamed body (Response::stream): chunked, every piece in order, the
// producer asked for one piece at a time until it says it is done.
TEST(HttpServerStream, AStreamedBodyArrivesChunkedWholeAndInOrder) {
  std::atomic<int> calls{0};
  wh::Server server(wh::ServerOptions{}, [&](wh::Request&& req, wh::Responder r) {
    if (req.path != "/stream") return r(wh::Response{200, "text/plain", "plain", {}, {}});
    wh::Response res;
    res.content_type = "application/x-ndjson";
    auto n = std::make_shared<int>(0);
    res.stream = [&calls, n](std::string& piece) {
      ++calls;
      if (*n % 7 != 3)  // some pieces are empty: nothing is written for them
        piece = "line " + std::to_string(*n) + "\n" + std::string(1000, 'x') + "\n";
      return ++*n < 300;
    };
    r(std::move(res));
  });
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  auto r = wh::request("127.0.0.1", *port, "GET", "/stream");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  std::string want;
  for (int i = 0; i < 300; ++i)
    if (i % 7 != 3) want += "line " + std::to_string(i) + "\n" + std::string(1000, 'x') + "\n";
  EXPECT_EQ(r->body, want);
  EXPECT_EQ(calls.load(), 300);
  bool chunked = false;
  for (auto& [name, value] : r->headers)
    chunked |= boost::beast::iequals(name, "transfer-encoding") && value == "chunked";
  EXPECT_TRUE(chunked);
  EXPECT_EQ(r->content_type, "application/x-ndjson");
  auto other = wh::request("127.0.0.1", *port, "GET", "/other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->body, "plain");
}
