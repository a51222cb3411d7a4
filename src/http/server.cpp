// HTTP/1.1 server: one Session per connection, each on its own strand.
// See server.hpp for the contract. Nothing here throws out of a public call.
#include "http/server.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace waymark::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// Bytes discarded after an early error response (413/400) before closing, so
// the client reads our answer instead of a connection reset.
constexpr size_t kLingerBytesMax = 4 * 1024 * 1024;
constexpr auto kLingerTime = std::chrono::seconds(1);
// What a connection reads while it waits for a request: the first bytes of the
// next request land in a buffer this small (the parser grows it as needed).
constexpr size_t kIdleReadBytes = 512;

// Nanoseconds: connections that went idle one after the other are told apart.
int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding for query strings ('+' is a space there).
std::string query_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto key = query_decode(part.substr(0, eq));
    auto value = eq == std::string_view::npos ? std::string{} : query_decode(part.substr(eq + 1));
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

std::string error_json(const std::string& message) {
  return boost::json::serialize(boost::json::object{{"error", message}});
}

bool is_parse_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

// Shared with every Responder: once `stopped` is set (under `mu`) nothing is
// posted to the io_context any more, so a late Responder never touches it.
struct Control {
  std::mutex mu;
  bool stopped = false;
};

}  // namespace

void split_target(Request& r) {
  auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  r.query.clear();
  if (q != std::string::npos) r.query = parse_query(std::string_view(r.target).substr(q + 1));
}

ServerStats& server_stats() {
  static ServerStats stats;
  return stats;
}

class Session;

struct Server::Impl {
  Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {}

  // Declared first so it is destroyed last: queued handlers may own sessions.
  net::io_context ioc;
  ServerOptions options;
  Handler handler;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_retry;
  std::vector<std::thread> threads;
  std::shared_ptr<Control> control = std::make_shared<Control>();
  std::mutex life_mu;  // start/stop
  bool started = false;
  bool stopped = false;

  mutable std::mutex sessions_mu;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions;

  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);
  bool evict_longest_idle();
  void add(const std::shared_ptr<Session>& s);
  void remove(Session* s);
  size_t count() const {
    std::lock_guard<std::mutex> lk(sessions_mu);
    return sessions.size();
  }
  size_t idle_count() const;
};

class Session : public std::enable_shared_from_this<Session> {
public:
  Session(tcp::socket&& socket, Server::Impl* server)
      : stream_(std::move(socket)), server_(server), control_(server->control) {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }

  // Over connections_max: answer 503 and close without reading a request.
  void reject_busy() {
    server_stats().refused_busy.fetch_add(1, std::memory_order_relaxed);
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->write_error(503, "too many connections", /*linger=*/false);
    });
  }

  // Called on the strand (posted by the Responder).
  void respond(uint64_t seq, Response r) {
    if (!awaiting_ || seq != seq_ || closed_) return;  // stale or duplicate answer
    awaiting_ = false;
    if (r.stream || r.pull) return write_stream(std::move(r));
    bhttp::response<bhttp::string_body> res;
    try {
      res = build(std::move(r));
    } catch (const std::exception&) {
      res = build(Response{500, "application/json", error_json("bad response"), {}, {}, {}});
    }
    write(std::move(res), !keep_alive_, false);
  }

  /// Since when (steady ns) this connection waits for a request with nothing
  /// of it read; 0 while it is busy. Read by the accepting thread.
  int64_t idle_since() const { return idle_since_.load(std::memory_order_relaxed); }

  /// Marks this connection as chosen for eviction (accepting thread); false
  /// when it stopped being idle meanwhile or another accept chose it first.
  bool claim_idle(int64_t since) { return idle_since_.compare_exchange_strong(since, -1); }

  /// Closes the connection if it still waits for a request (posted to the strand).
  void evict() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->closed_ || !self->waiting_idle_) return;
      server_stats().closed_evicted.fetch_add(1, std::memory_order_relaxed);
      self->finish();
    });
  }

  // Called on the strand during stop() or from io threads.
  void close_socket() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

private:
  /// Waits for the first byte of the next request in a small buffer: at most
  /// idle_timeout_s on a keep-alive connection, and request_timeout_s from
  /// the accept for the first request (that deadline then covers all of it).
  void do_read() {
    if (closed_) return;
    if (buffer_.size() > 0) return read_header();  // a pipelined request has begun
    parser_.reset();
    buffer_.shrink_to_fit();
    auto& o = server_->options;
    stream_.expires_after(std::chrono::seconds(requests_ == 0 ? o.request_timeout_s : o.idle_timeout_s));
    waiting_idle_ = true;
    idle_since_.store(steady_ns(), std::memory_order_relaxed);
    stream_.async_read_some(buffer_.prepare(kIdleReadBytes),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              self->waiting_idle_ = false;
                              self->idle_since_.store(0, std::memory_order_relaxed);
                              self->buffer_.commit(n);
                              if (ec && n == 0) return self->on_read_error(ec);
                              self->read_header();
                            });
  }

  /// Reads a request whose first bytes arrived: it must be complete within
  /// request_timeout_s (of the accept, for the first request).
  void read_header() {
    if (requests_ > 0)
      stream_.expires_after(std::chrono::seconds(server_->options.request_timeout_s));
    parser_.emplace();
    parser_->body_limit(server_->options.body_bytes_max);
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.header_bytes_max));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](error_code ec, size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(error_code ec) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    auto expect = req[bhttp::field::expect];
    if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = shared_from_this()](error_code ec, size_t) {
                         if (ec) return self->finish();
                         self->read_body();
                       });
      return;
    }
    read_body();
  }

  void read_body() {  // under the request's deadline (read_header)
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read_error(error_code ec) {
    auto& stats = server_stats();
    if (ec == beast::error::timeout) {
      // Waiting between requests is idle; anything else is a slow request.
      auto& counter = waiting_idle_before_timeout() ? stats.closed_idle : stats.closed_slow;
      counter.fetch_add(1, std::memory_order_relaxed);
      return finish();
    }
    if (ec == bhttp::error::body_limit) {
      stats.refused_body_too_large.fetch_add(1, std::memory_order_relaxed);
      return write_error(413, "request body too large", true);
    }
    if (ec == bhttp::error::header_limit) {
      stats.refused_header_too_large.fetch_add(1, std::memory_order_relaxed);
      return write_error(431, "request header too large", true);
    }
    if (ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
        is_parse_error(ec)) {
      stats.refused_malformed.fetch_add(1, std::memory_order_relaxed);
      return write_error(400, "malformed HTTP request", true);
    }
    finish();  // eof, timeout, reset, aborted
  }

  // A timeout with nothing of a request read, on a connection that completed
  // a request before (the first request's wait counts as a slow request).
  bool waiting_idle_before_timeout() const {
    return requests_ > 0 && buffer_.size() == 0 && !parser_;
  }

  void on_read(error_code ec) {
    if (ec) return on_read_error(ec);
    ++requests_;
    stream_.expires_never();  // the handler may take its time
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    Request r = to_request(std::move(req));
    awaiting_ = true;
    ++seq_;
    dispatch_to_handler(std::move(r));
  }

  void dispatch_to_handler(Request&& r) {
    Responder responder = [weak = weak_from_this(), control = control_,
                           seq = seq_](Response res) {
      std::lock_guard<std::mutex> lk(control->mu);
      if (control->stopped) return;
      auto self = weak.lock();
      if (!self) return;
      net::post(self->stream_.get_executor(),
                [self, seq, res = std::move(res)]() mutable { self->respond(seq, std::move(res)); });
    };
    try {
      server_->handler(std::move(r), std::move(responder));
    } catch (const std::exception& e) {
      respond(seq_, Response{500, "application/json", error_json("internal error"), {}, {}, {}});
    } catch (...) {
      respond(seq_, Response{500, "application/json", error_json("internal error"), {}, {}, {}});
    }
  }

  Request to_request(bhttp::request<bhttp::string_body>&& req) {
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    split_target(r);
    for (const auto& f : req) {
      auto name = lower(f.name_string());
      auto [it, inserted] = r.headers.emplace(name, std::string(f.value()));
      if (!inserted) it->second += ", " + std::string(f.value());
    }
    r.body = std::move(req.body());
    r.remote = remote_;
    return r;
  }

  bhttp::response<bhttp::string_body> build(Response r) {
    bhttp::response<bhttp::string_body> res;
    res.version(11);
    int status = (r.status >= 100 && r.status <= 999) ? r.status : 500;
    res.result(static_cast<unsigned>(status));
    for (auto& [name, value] : r.headers) res.set(name, value);
    if (!r.content_type.empty()) res.set(bhttp::field::content_type, r.content_type);
    res.set(bhttp::field::server, "waymark");
    res.body() = std::move(r.body);
    return res;
  }

  void write_error(int status, const std::string& message, bool linger) {
    write(build(Response{status, "application/json", error_json(message), {}, {}, {}}), true, linger);
  }

  void write(bhttp::response<bhttp::string_body> res, bool close_after, bool linger) {
    if (closed_) return;
    res.keep_alive(!close_after);
    res.prepare_payload();  // sets Content-Length
    res_ = std::make_shared<bhttp::response<bhttp::string_body>>(std::move(res));
    stream_.expires_after(std::chrono::seconds(server_->options.idle_timeout_s));
    bhttp::async_write(stream_, *res_,
                       [self = shared_from_this(), close_after, linger](error_code ec, size_t) {
                         self->res_.reset();
                         if (ec) return self->finish();
                         if (!close_after) return self->do_read();
                         if (linger) return self->linger();
                         self->finish();
                       });
  }

  // A streamed response: the header, then one chunk per piece the producer
  // fills, each written before the next is asked for, then the last chunk.
  void write_stream(Response r) {
    if (closed_) return;
    stream_res_ = std::make_shared<bhttp::response<bhttp::empty_body>>();
    auto& res = *stream_res_;
    res.version(11);
    res.result(static_cast<unsigned>((r.status >= 100 && r.status <= 999) ? r.status : 500));
    for (auto& [name, value] : r.headers) res.set(name, value);
    if (!r.content_type.empty()) res.set(bhttp::field::content_type, r.content_type);
    res.set(bhttp::field::server, "waymark");
    res.keep_alive(keep_alive_);
    res.chunked(true);
    producer_ = std::move(r.stream);
    puller_ = std::move(r.pull);
    stream_sr_ = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(res);
    stream_.expires_after(std::chrono::seconds(server_->options.idle_timeout_s));
    bhttp::async_write_header(stream_, *stream_sr_, [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->end_stream(false);
      self->next_piece();
    });
  }

  void next_piece() {
    piece_.clear();
    if (puller_) return pull_piece();
    bool more = false;
    try {
      more = producer_(piece_);
    } catch (...) {
      return end_stream(false);
    }
    write_piece(more);
  }

  // An asynchronous producer: its answer is posted back to the strand.
  void pull_piece() {
    auto self = shared_from_this();
    try {
      puller_([self](std::optional<std::string> piece, bool more) {
        net::post(self->stream_.get_executor(), [self, piece = std::move(piece), more]() mutable {
          if (self->closed_ || !self->puller_) return;
          if (!piece) return self->end_stream(false);
          self->piece_ = std::move(*piece);
          self->write_piece(more);
        });
      });
    } catch (...) {
      end_stream(false);
    }
  }

  void write_piece(bool more) {
    auto after = [self = shared_from_this(), more](error_code ec, size_t) {
      if (ec) return self->end_stream(false);
      if (more) return self->next_piece();
      self->last_chunk();
    };
    stream_.expires_after(std::chrono::seconds(server_->options.idle_timeout_s));
    if (piece_.empty()) {
      if (more) return net::post(stream_.get_executor(), [self = shared_from_this()] { self->next_piece(); });
      return last_chunk();
    }
    net::async_write(stream_, bhttp::make_chunk(net::buffer(piece_)), std::move(after));
  }

  void last_chunk() {
    net::async_write(stream_, bhttp::make_chunk_last(),
                     [self = shared_from_this()](error_code ec, size_t) { self->end_stream(!ec); });
  }

  void end_stream(bool ok) {
    producer_ = nullptr;
    puller_ = nullptr;
    stream_sr_.reset();
    stream_res_.reset();
    std::string().swap(piece_);
    if (!ok || !keep_alive_) return finish();
    do_read();
  }

  // Half-close, then discard what the client is still sending (bounded in
  // bytes and time) so it can read the error response before we close.
  void linger() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(kLingerTime);
    drain();
  }

  void drain() {
    scratch_.resize(64 * 1024);
    stream_.async_read_some(net::buffer(scratch_), [self = shared_from_this()](error_code ec,
                                                                               size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kLingerBytesMax) return self->finish();
      self->drain();
    });
  }

  void finish() {
    if (closed_) return;
    closed_ = true;
    close_socket();
    server_->remove(this);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<bhttp::response<bhttp::string_body>> res_;
  // a streamed response (write_stream)
  std::shared_ptr<bhttp::response<bhttp::empty_body>> stream_res_;
  std::shared_ptr<bhttp::response_serializer<bhttp::empty_body>> stream_sr_;
  std::function<bool(std::string&)> producer_;
  std::function<void(Response::PullDone)> puller_;
  std::string piece_;
  std::vector<char> scratch_;
  Server::Impl* server_;
  std::shared_ptr<Control> control_;
  std::string remote_;
  std::atomic<int64_t> idle_since_{0};  // see idle_since(); -1: chosen for eviction
  bool waiting_idle_ = false;            // strand: waiting for the first byte of a request
  uint64_t requests_ = 0;                // requests read completely
  bool keep_alive_ = false;
  bool awaiting_ = false;
  bool closed_ = false;
  uint64_t seq_ = 0;
  size_t drained_ = 0;
};

void Server::Impl::do_accept() {
  acceptor->async_accept(net::make_strand(ioc),
                         [this](error_code ec, tcp::socket socket) {
                           on_accept(ec, std::move(socket));
                         });
}

void Server::Impl::on_accept(error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
  if (ec) {  // e.g. out of file descriptors: back off briefly instead of spinning
    accept_retry->expires_after(std::chrono::milliseconds(50));
    accept_retry->async_wait([this](error_code e) {
      if (!e) do_accept();
    });
    return;
  }
  auto session = std::make_shared<Session>(std::move(socket), this);
  if (count() >= options.connections_max && !evict_longest_idle()) {
    session->reject_busy();
  } else {
    add(session);
    session->run();
  }
  do_accept();
}

// At connections_max: closes the connection that has waited longest for a
// request, so idle connections cannot lock well-behaved clients out. False
// when every connection is busy. O(connections), only at the cap.
bool Server::Impl::evict_longest_idle() {
  std::shared_ptr<Session> victim;
  int64_t since = 0;
  {
    std::lock_guard<std::mutex> lk(sessions_mu);
    for (auto& [ptr, s] : sessions) {
      auto t = s->idle_since();
      if (t > 0 && (!victim || t < since)) {
        victim = s;
        since = t;
      }
    }
  }
  if (!victim || !victim->claim_idle(since)) return false;
  victim->evict();
  return true;
}

void Server::Impl::add(const std::shared_ptr<Session>& s) {
  std::lock_guard<std::mutex> lk(sessions_mu);
  if (sessions.emplace(s.get(), s).second)
    server_stats().connections_open.fetch_add(1, std::memory_order_relaxed);
}

void Server::Impl::remove(Session* s) {
  std::shared_ptr<Session> keep;  // destroyed outside the lock
  std::lock_guard<std::mutex> lk(sessions_mu);
  auto it = sessions.find(s);
  if (it == sessions.end()) return;
  keep = std::move(it->second);
  sessions.erase(it);
  server_stats().connections_open.fetch_sub(1, std::memory_order_relaxed);
}

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() { stop(); }

Result<uint16_t> Server::start() {
  std::lock_guard<std::mutex> lk(impl_->life_mu);
  if (impl_->started) return make_error("already_started", "server already started");
  auto& im = *impl_;
  error_code ec;
  auto address = net::ip::make_address(im.options.host == "localhost" ? "127.0.0.1"
                                                                       : im.options.host,
                                       ec);
  if (ec) return make_error("bad_address", "bad listen address '" + im.options.host + "'");
  tcp::endpoint endpoint(address, im.options.port);
  im.acceptor.emplace(net::make_strand(im.ioc));
  im.accept_retry.emplace(im.acceptor->get_executor());
  im.acceptor->open(endpoint.protocol(), ec);
  if (!ec) im.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) im.acceptor->bind(endpoint, ec);
  if (!ec) im.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error("listen_failed", "cannot listen on " + im.options.host + ":" +
                                           std::to_string(im.options.port) + ": " + ec.message());
  }
  uint16_t port = im.acceptor->local_endpoint(ec).port();
  im.started = true;
  im.do_accept();
  int n = im.options.threads < 1 ? 1 : im.options.threads;
  for (int i = 0; i < n; ++i) {
    im.threads.emplace_back([&im] {
      for (;;) {
        try {
          im.ioc.run();
          return;
        } catch (...) {  // a handler threw: keep serving
        }
      }
    });
  }
  return port;
}

void Server::stop() {
  std::lock_guard<std::mutex> lk(impl_->life_mu);
  auto& im = *impl_;
  if (im.stopped) return;
  im.stopped = true;
  {
    std::lock_guard<std::mutex> c(im.control->mu);
    im.control->stopped = true;  // late Responders drop their answer from now on
  }
  im.ioc.stop();
  for (auto& t : im.threads) {
    if (t.joinable()) t.join();
  }
  // No io thread runs any more: close everything from here.
  error_code ec;
  if (im.acceptor) im.acceptor->close(ec);
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> s(im.sessions_mu);
    sessions.swap(im.sessions);
    server_stats().connections_open.fetch_sub(sessions.size(), std::memory_order_relaxed);
  }
  for (auto& [ptr, session] : sessions) session->close_socket();
}

size_t Server::open_connections() const { return impl_->count(); }
size_t Server::idle_connections() const { return impl_->idle_count(); }

size_t Server::Impl::idle_count() const {
  std::lock_guard<std::mutex> lk(sessions_mu);
  size_t n = 0;
  for (auto& [ptr, s] : sessions) n += s->idle_since() > 0;
  return n;
}

}  // namespace waymark::http
