#include "actors/tcp_gateway.hpp"

#include <spdlog/spdlog.h>

#include <deque>
#include <set>

#include "actors/messages.hpp"
#include "http/router.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

constexpr size_t read_chunk_bytes = 64 * 1024;
constexpr uint64_t unsent_bytes_max = 1 << 20;  // stop reading while this much output is queued

struct conn_state {
  std::string buf;                  // bytes after the last complete line
  uint64_t lines = 0;               // lines read so far (line numbers are 1-based)
  uint64_t acked = 0;               // cumulative ack sent to the client
  std::deque<bool> done;            // done[i]: line acked + 1 + i finished (bounded by the window)
  uint64_t unsent = 0;              // bytes in the output buffer (ack_writes)
  bool armed = false;               // a read credit is outstanding
  bool closed = false;
  bool closing = false;             // fatal line written; close once it left the buffer
  bool resume_scheduled = false;    // a delayed re-arm after a pause is on its way
  uint64_t reads = 0;               // new_data_msg count
  uint64_t resume_gen = 0;          // identifies the latest resume (watchdog)
  uint64_t reads_at_resume = 0;
  bool paused = false;
  bool hello_ok = false;
  static constexpr const char* name = "tcp_connection";
};

using conn_broker = caf::stateful_actor<conn_state, caf::io::broker>;

struct acceptor_state {
  uint16_t port = 0;
  std::set<caf::actor> connections;  // live connection brokers (monitored), closed on shutdown
  bool stopping = false;              // quit once the last connection is gone
  static constexpr const char* name = "tcp_acceptor";
};
using acceptor_broker = caf::stateful_actor<acceptor_state, caf::io::broker>;

void write_line(conn_broker* self, caf::io::connection_handle hdl, const std::string& s) {
  auto& out = self->wr_buf(hdl);
  out.insert(out.end(), s.begin(), s.end());
  out.push_back('\n');
  self->state.unsent += s.size() + 1;
}

size_t unacked(const conn_state& st) { return static_cast<size_t>(st.lines - st.acked); }

bool window_full(const conn_state& st, NodeContext* ctx) {
  return unacked(st) >= ctx->config.limits.connection_unacked_max || st.unsent >= unsent_bytes_max;
}

void arm(conn_broker* self, caf::io::connection_handle hdl) {
  self->state.armed = true;
  self->trigger(hdl, 1);
}

/// Grants the next read unless the window is full. Reading one chunk at a
/// time is what lets TCP flow control slow a producer we cannot keep up with.
void maybe_resume(conn_broker* self, caf::io::connection_handle hdl, NodeContext* ctx) {
  auto& st = self->state;
  if (st.closed || st.armed)
    return;
  if (window_full(st, ctx)) {
    if (!st.paused) {
      spdlog::debug("[tcp] pause: unacked={} unsent={}", unacked(st), st.unsent);
      st.paused = true;
      ctx->metrics.connections_paused.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  if (!st.paused) {
    arm(self, hdl);
    return;
  }
  // Out of read tokens, CAF 0.17 removed the socket from the event loop, but
  // that removal is only applied at the end of the multiplexer's current loop
  // iteration; a trigger() before then is silently lost (stream::activate is a
  // no-op while its reader is still set) and the connection would never be
  // read again. So re-arm from a later message, and check that reading really
  // resumed (the resume_atom watchdog below).
  if (!st.resume_scheduled) {
    st.resume_scheduled = true;
    self->delayed_send(self, std::chrono::milliseconds(1), resume_atom::value);
  }
}

void fatal(conn_broker* self, caf::io::connection_handle hdl, const std::string& why) {
  auto& st = self->state;
  if (st.closed)
    return;
  json::object o{{"error", why}, {"fatal", true}};
  write_line(self, hdl, json::serialize(o));
  self->flush(hdl);
  // close() in CAF 0.17 drops what is still in the write buffer, so the
  // client would never see why. Stop reading now; close once the buffer is
  // empty (data_transferred_msg) or after a grace period at the latest.
  st.closed = true;
  st.closing = true;
  self->halt(hdl);
  self->delayed_send(self, std::chrono::seconds(2), shutdown_atom::value);
}

/// Marks a line finished and returns true when the cumulative ack moved.
bool finish(conn_state& st, uint64_t line) {
  if (line <= st.acked)
    return false;
  auto i = static_cast<size_t>(line - st.acked - 1);
  if (i >= st.done.size())
    st.done.resize(i + 1, false);
  st.done[i] = true;
  bool moved = false;
  while (!st.done.empty() && st.done.front()) {
    st.done.pop_front();
    ++st.acked;
    moved = true;
  }
  return moved;
}

void send_ack(conn_broker* self, caf::io::connection_handle hdl) {
  write_line(self, hdl, "{\"ack\":" + std::to_string(self->state.acked) + "}");
}

void nack_line(conn_broker* self, caf::io::connection_handle hdl, NodeContext* ctx, uint64_t line,
               const std::string& code, const std::string& msg) {
  ctx->metrics.nack(code);
  json::object o{{"nack", line}, {"error", msg}};
  write_line(self, hdl, json::serialize(o));
}

bool valid_hello(const json::value& v, NodeContext* ctx) {
  auto* k = v.get_object().if_contains("writeKey");
  if (!k || !k->is_string())
    return false;
  auto& given = k->get_string();
  return http::credential_in(std::string_view(given.data(), given.size()), ctx->config.write_keys);  // constant time
}

/// Handles one complete line; returns false when the connection was closed.
bool handle_line(conn_broker* self, caf::io::connection_handle hdl, NodeContext* ctx, std::string_view line,
                 bool& ack_moved) {
  auto& st = self->state;
  uint64_t n = ++st.lines;
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  bool need_hello = !ctx->config.write_keys.empty() && !st.hello_ok;
  // Cheap check for a hello line before full event validation.
  if (line.find("\"hello\"") != std::string_view::npos) {
    std::error_code ec;
    auto v = json::parse(json::string_view(line.data(), line.size()), ec);
    if (!ec && v.is_object() && v.get_object().if_contains("type") &&
        v.get_object().at("type") == json::value("hello")) {
      if (n != 1) {
        nack_line(self, hdl, ctx, n, "unexpected_hello", "hello is only allowed as the first line");
      } else if (!ctx->config.write_keys.empty() && !valid_hello(v, ctx)) {
        ctx->metrics.nack("bad_hello");
        fatal(self, hdl, "bad hello: unknown or missing writeKey");
        return false;
      } else {
        st.hello_ok = true;
      }
      ack_moved |= finish(st, n);
      return true;
    }
  }
  if (need_hello) {
    ctx->metrics.nack("bad_hello");
    fatal(self, hdl, "bad hello: the first line must be {\"type\":\"hello\",\"writeKey\":\"...\"}");
    return false;
  }
  if (line.empty()) {
    nack_line(self, hdl, ctx, n, "empty_line", "empty line");
    ack_moved |= finish(st, n);
    return true;
  }
  auto ev = parse_event(line, ctx->config.limits, ctx->clock->now());
  if (!ev) {
    nack_line(self, hdl, ctx, n, ev.error().code, ev.error().message);
    ack_moved |= finish(st, n);
    return true;
  }
  ctx->metrics.events_received.fetch_add(1, std::memory_order_relaxed);
  EventMsg m;
  m.ack = AckTarget{caf::actor_cast<caf::actor>(self), n};
  auto& mgr = ctx->router.route(ev->customer_key());
  m.event = std::move(*ev);
  self->send(mgr, event_atom::value, std::move(m));
  return true;
}

caf::behavior connection(conn_broker* self, caf::io::connection_handle hdl, NodeContext* ctx) {
  ctx->metrics.connections_open.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor([ctx] { ctx->metrics.connections_open.fetch_sub(1, std::memory_order_relaxed); });
  self->configure_read(hdl, caf::io::receive_policy::at_most(read_chunk_bytes));
  self->ack_writes(hdl, true);
  maybe_resume(self, hdl, ctx);
  return {
    [=](const caf::io::new_data_msg& msg) {
      auto& st = self->state;
      st.armed = false;
      ++st.reads;
      if (st.closed)
        return;
      st.buf.append(msg.buf.begin(), msg.buf.end());
      bool ack_moved = false;
      size_t start = 0;
      for (size_t nl; (nl = st.buf.find('\n', start)) != std::string::npos; start = nl + 1) {
        if (nl - start > ctx->config.limits.line_bytes_max) {
          ctx->metrics.nack("line_too_long");
          fatal(self, hdl, "line over " + std::to_string(ctx->config.limits.line_bytes_max) + " bytes");
          return;
        }
        if (!handle_line(self, hdl, ctx, std::string_view(st.buf).substr(start, nl - start), ack_moved))
          return;
      }
      st.buf.erase(0, start);
      if (st.buf.size() > ctx->config.limits.line_bytes_max) {
        ctx->metrics.nack("line_too_long");
        fatal(self, hdl, "line over " + std::to_string(ctx->config.limits.line_bytes_max) + " bytes");
        return;
      }
      if (ack_moved)
        send_ack(self, hdl);
      self->flush(hdl);
      maybe_resume(self, hdl, ctx);
    },
    [=](acked_atom, const AckBatch& a) {
      auto& st = self->state;
      if (st.closed)
        return;
      bool moved = false;
      for (auto line : a.lines)
        moved |= finish(st, line);
      ctx->metrics.events_acked.fetch_add(a.lines.size(), std::memory_order_relaxed);
      if (moved) {
        send_ack(self, hdl);
        self->flush(hdl);
      }
      maybe_resume(self, hdl, ctx);
    },
    [=](nacked_atom, const NackBatch& nb) {
      auto& st = self->state;
      if (st.closed)
        return;
      bool moved = false;
      for (auto& [line, why] : nb.lines) {
        json::object o{{"nack", line}, {"error", why}};
        if (nb.retry)
          o["retry"] = true;
        write_line(self, hdl, json::serialize(o));
        moved |= finish(st, line);
      }
      if (moved)
        send_ack(self, hdl);
      self->flush(hdl);
      maybe_resume(self, hdl, ctx);
    },
    [=](const caf::io::data_transferred_msg& x) {
      self->state.unsent = x.remaining;
      if (self->state.closing && x.remaining == 0) {
        self->close(hdl);
        self->quit();
        return;
      }
      maybe_resume(self, hdl, ctx);
    },
    [=](const caf::io::connection_passivated_msg&) {},
    [=](resume_atom) {
      auto& st = self->state;
      st.resume_scheduled = false;
      if (st.closed || st.armed || window_full(st, ctx))
        return;  // a later ack or data_transferred_msg schedules the next try
      spdlog::debug("[tcp] resume: lines={} acked={}", st.lines, st.acked);
      st.paused = false;
      arm(self, hdl);
      st.resume_gen += 1;
      st.reads_at_resume = st.reads;
      self->delayed_send(self, std::chrono::milliseconds(20), resume_atom::value, st.resume_gen, 0);
    },
    [=](resume_atom, uint64_t gen, int attempt) {
      // Watchdog: no data since the resume may mean the trigger was lost in
      // the race above (or just an idle client). Grant one more token, at most
      // three times per resume, so an idle client cannot pile up read credit:
      // the window is exceeded by at most three read chunks.
      auto& st = self->state;
      if (gen != st.resume_gen || st.closed || !st.armed || st.reads != st.reads_at_resume)
        return;
      self->trigger(hdl, 1);
      if (attempt < 2)
        self->delayed_send(self, std::chrono::milliseconds(200 * (attempt + 1)), resume_atom::value, gen, attempt + 1);
    },
    [=](const caf::io::connection_closed_msg&) {
      self->state.closed = true;
      self->quit();
    },
    [=](shutdown_atom) {
      self->state.closed = true;
      self->close(hdl);
      self->quit();
    },
  };
}

caf::behavior acceptor(acceptor_broker* self, NodeContext* ctx) {
  self->set_down_handler([=](caf::down_msg& dm) {
    if (auto a = caf::actor_cast<caf::actor>(dm.source))
      self->state.connections.erase(a);
    if (self->state.stopping && self->state.connections.empty())
      self->quit();
  });
  return {
    [=](const caf::io::new_connection_msg& msg) {
      if (ctx->metrics.connections_open.load() >= ctx->config.limits.connections_max) {
        std::string line = "{\"error\":\"too many connections\",\"fatal\":true}\n";
        self->write(msg.handle, line.size(), line.data());
        self->flush(msg.handle);
        self->close(msg.handle);
        return;
      }
      auto conn = self->fork(connection, msg.handle, ctx);
      if (conn) {
        self->monitor(conn);
        self->state.connections.insert(conn);
      }
    },

    [=](const caf::io::acceptor_closed_msg&) { self->quit(); },
    [=](caf::ok_atom, const std::string& host, uint16_t port) -> caf::result<uint16_t> {
      auto res = self->add_tcp_doorman(port, host.c_str(), true);
      if (!res)
        return res.error();
      self->state.port = res->second;
      return res->second;
    },
    [=](shutdown_atom) {
      // Open connections are separate brokers: without this they keep the
      // multiplexer (and so the process) alive after a SIGTERM.
      // The acceptor stops only after its connections: they route through the
      // journey managers until their last message.
      self->state.stopping = true;
      for (auto& c : self->state.connections)
        caf::anon_send(c, shutdown_atom::value);
      self->close_all();
      if (self->state.connections.empty())
        self->quit();
    },
  };
}

}  // namespace

caf::expected<std::pair<caf::actor, uint16_t>> start_tcp_gateway(caf::actor_system& sys, NodeContext* ctx,
                                                                 const std::string& host, uint16_t port) {
  auto acc = sys.middleman().spawn_broker(acceptor, ctx);
  caf::scoped_actor tmp{sys};
  caf::expected<uint16_t> result{caf::sec::none};
  // The acceptor binds its own doorman (it lives on the multiplexer thread).
  tmp->request(acc, std::chrono::seconds(10), caf::ok_atom::value, host, port)
    .receive([&](uint16_t p) { result = p; }, [&](caf::error& e) { result = std::move(e); });
  if (!result) {
    caf::anon_send_exit(acc, caf::exit_reason::user_shutdown);
    return result.error();
  }
  return std::make_pair(caf::actor{acc}, *result);
}

}  // namespace waymark
