#include "actors/tcp_gateway.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string_view>

#include "actors/messages.hpp"
#include "http/router.hpp"

namespace json = boost::json;

namespace waymark {

namespace {

constexpr size_t read_chunk_bytes = 64 * 1024;
constexpr size_t first_read_bytes = 4 * 1024;  // until a read fills it: idle connections stay small
constexpr uint64_t unsent_bytes_max = 1 << 20;  // stop reading while this much output is queued
constexpr auto budget_poll = std::chrono::milliseconds(10);  // acceptor: is the node's input budget back?

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// A line read and not yet covered by the cumulative ack: 4 bytes, as a
/// connection may hold limits.connection_unacked_max of them.
struct LineSlot {
  uint32_t bytes : 31;  // held against the node's input budget (events sent on; 0 for nacked lines)
  uint32_t done : 1;    // acked or nacked
};
constexpr uint32_t slot_bytes_max = (1u << 31) - 1;

struct conn_state {
  std::string buf;                  // bytes after the last complete line
  uint64_t lines = 0;               // lines read so far (line numbers are 1-based)
  uint64_t acked = 0;               // cumulative ack sent to the client
  std::deque<LineSlot> pending;     // pending[i]: line acked + 1 + i (bounded by the window)
  InputBudget* budget = nullptr;    // the node's; what `pending` holds is given back at the latest here:
  uint64_t budget_bytes = 0;        // bytes this connection holds against it
  size_t read_bytes = first_read_bytes;  // the read policy's size (grows to read_chunk_bytes)
  int64_t last_active_ms = 0;       // steady: last read, or last ack that left nothing unacked
  int64_t incomplete_since_ms = 0;  // steady: since when the current line is half-sent (0: none)
  int64_t watch_at_ms = 0;          // steady: when the pending deadline check (tick_atom) runs; 0: none
  std::shared_ptr<int64_t> idle_since;  // shared with the acceptor: last_active_ms while idle, else 0
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
  conn_state() = default;
  conn_state(const conn_state&) = delete;
  conn_state& operator=(const conn_state&) = delete;
  ~conn_state() {
    if (budget && budget_bytes)
      budget->give_back(budget_bytes);
  }
};

using conn_broker = caf::stateful_actor<conn_state, caf::io::broker>;

struct acceptor_state {
  uint16_t port = 0;
  // Live connection brokers (monitored), closed on shutdown, and since when
  // each has been idle (0: busy), written by the connection. All brokers run
  // on the multiplexer thread, so plain integers suffice.
  std::map<caf::actor, std::shared_ptr<int64_t>> connections;
  std::set<caf::actor> evicted;       // told to close to make room, not gone yet
  bool stopping = false;              // quit once the last connection is gone
  bool budget_polling = false;        // a connection paused on the node's input budget
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
  return unacked(st) >= ctx->config.limits.connection_unacked_max || st.unsent >= unsent_bytes_max ||
         ctx->input_budget.exhausted();
}

void arm(conn_broker* self, caf::io::connection_handle hdl) {
  self->state.armed = true;
  self->trigger(hdl, 1);
}

/// Grants the next read unless the window is full. Reading one chunk at a
/// time is what lets TCP flow control slow a producer we cannot keep up with.
void maybe_resume(conn_broker* self, caf::io::connection_handle hdl, NodeContext* ctx,
                  const caf::actor& acceptor) {
  auto& st = self->state;
  if (st.closed || st.armed)
    return;
  if (window_full(st, ctx)) {
    if (!st.paused) {
      spdlog::debug("[tcp] pause: unacked={} unsent={}", unacked(st), st.unsent);
      st.paused = true;
      ctx->metrics.connections_paused.fetch_add(1, std::memory_order_relaxed);
      if (ctx->input_budget.exhausted()) {
        // Nothing of this connection may be in flight: the acceptor wakes it.
        ctx->metrics.connections_paused_node.fetch_add(1, std::memory_order_relaxed);
        self->send(acceptor, wake_atom::value);
      }
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

/// Marks a line finished and returns true when the cumulative ack moved; the
/// lines it covers give their bytes back to the node's input budget.
bool finish(conn_state& st, uint64_t line) {
  if (line <= st.acked || line > st.lines)
    return false;
  st.pending[static_cast<size_t>(line - st.acked - 1)].done = true;
  uint64_t freed = 0;
  bool moved = false;
  while (!st.pending.empty() && st.pending.front().done) {
    freed += st.pending.front().bytes;
    st.pending.pop_front();
    ++st.acked;
    moved = true;
  }
  if (freed) {
    st.budget_bytes -= freed;
    st.budget->give_back(freed);
  }
  if (moved && st.acked == st.lines)
    st.last_active_ms = steady_ms();
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
  st.pending.push_back(LineSlot{0, 0});
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
  auto bytes = static_cast<uint32_t>(std::min<size_t>(line.size() + 1, slot_bytes_max));
  st.pending.back().bytes = bytes;
  st.budget_bytes += bytes;
  ctx->input_budget.take(bytes);
  EventMsg m;
  m.ack = AckTarget{caf::actor_cast<caf::actor>(self), n};
  auto& mgr = ctx->router.route(ev->customer_key());
  m.event = std::move(*ev);
  self->send(mgr, event_atom::value, std::move(m));
  return true;
}

/// When the connection is to be closed if nothing happens first, and why
/// (0: no deadline while it waits for the node: lines unacked, or paused).
std::pair<int64_t, const char*> deadline(const conn_state& st, const Limits& l) {
  if (st.closed || st.paused)
    return {0, nullptr};
  if (st.incomplete_since_ms)
    return {st.incomplete_since_ms + l.connection_incomplete_s * 1000, "incomplete"};
  if (unacked(st) == 0)
    return {st.last_active_ms + l.connection_idle_s * 1000, "idle"};
  return {0, nullptr};
}

/// Schedules a deadline check unless one runs at or before the deadline; a
/// check that finds the deadline moved later schedules the next one. Also
/// tells the acceptor whether (since when) the connection is idle.
void watch(conn_broker* self, NodeContext* ctx) {
  auto& st = self->state;
  bool idle = !st.closed && !st.paused && unacked(st) == 0 && st.buf.empty();
  *st.idle_since = idle ? st.last_active_ms : 0;
  auto at = deadline(st, ctx->config.limits).first;
  if (!at || (st.watch_at_ms && st.watch_at_ms <= at))
    return;
  st.watch_at_ms = at;
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(at - steady_ms(), 0) + 1), tick_atom::value,
                     at);
}

/// Closes a connection past its idle or incomplete-line deadline (PRODUCT.md §8).
void check_deadline(conn_broker* self, caf::io::connection_handle hdl, NodeContext* ctx, int64_t scheduled_for) {
  auto& st = self->state;
  if (scheduled_for != st.watch_at_ms)
    return;  // superseded by an earlier check
  st.watch_at_ms = 0;
  auto [at, why] = deadline(st, ctx->config.limits);
  if (!at || steady_ms() < at)
    return watch(self, ctx);
  auto& l = ctx->config.limits;
  if (std::string_view(why) == "idle") {
    ctx->metrics.tcp_closed_idle.fetch_add(1, std::memory_order_relaxed);
    return fatal(self, hdl, "idle for " + std::to_string(l.connection_idle_s) + " s (limits.connection_idle_s)");
  }
  ctx->metrics.tcp_closed_incomplete.fetch_add(1, std::memory_order_relaxed);
  fatal(self, hdl,
        st.lines == 0 ? "no complete first line within " + std::to_string(l.connection_incomplete_s) +
                          " s of connecting (limits.connection_incomplete_s)"
                      : "line incomplete for " + std::to_string(l.connection_incomplete_s) +
                          " s (limits.connection_incomplete_s)");
}

/// After a read: the half-sent line's clock starts when the line does (a new
/// connection's first line: at the accept).
void track_incomplete(conn_state& st, uint64_t lines_before) {
  if (st.lines == 0)
    return;
  if (st.buf.empty())
    st.incomplete_since_ms = 0;
  else if (st.lines > lines_before || st.incomplete_since_ms == 0)
    st.incomplete_since_ms = steady_ms();  // a new line has begun
}

/// Splits what was read into lines and handles them; false when the connection was closed.
bool read_lines(conn_broker* self, caf::io::connection_handle hdl, NodeContext* ctx, bool& ack_moved) {
  auto& st = self->state;
  auto max = ctx->config.limits.line_bytes_max;
  size_t start = 0;
  for (size_t nl; (nl = st.buf.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (nl - start > max) {
      ctx->metrics.nack("line_too_long");
      fatal(self, hdl, "line over " + std::to_string(max) + " bytes");
      return false;
    }
    if (!handle_line(self, hdl, ctx, std::string_view(st.buf).substr(start, nl - start), ack_moved))
      return false;
  }
  st.buf.erase(0, start);
  if (st.buf.size() > max) {
    ctx->metrics.nack("line_too_long");
    fatal(self, hdl, "line over " + std::to_string(max) + " bytes");
    return false;
  }
  return true;
}

caf::behavior connection(conn_broker* self, caf::io::connection_handle hdl, NodeContext* ctx, caf::actor acceptor,
                         std::shared_ptr<int64_t> idle_since) {
  ctx->metrics.connections_open.fetch_add(1, std::memory_order_relaxed);
  self->attach_functor([ctx] { ctx->metrics.connections_open.fetch_sub(1, std::memory_order_relaxed); });
  auto& st0 = self->state;
  st0.budget = &ctx->input_budget;
  st0.idle_since = std::move(idle_since);
  st0.last_active_ms = st0.incomplete_since_ms = steady_ms();  // the first line's clock runs from the accept
  self->configure_read(hdl, caf::io::receive_policy::at_most(st0.read_bytes));
  self->ack_writes(hdl, true);
  maybe_resume(self, hdl, ctx, acceptor);
  watch(self, ctx);
  return {
    [=](const caf::io::new_data_msg& msg) {
      auto& st = self->state;
      st.armed = false;
      ++st.reads;
      if (st.closed)
        return;
      st.last_active_ms = steady_ms();
      if (msg.buf.size() >= st.read_bytes && st.read_bytes < read_chunk_bytes) {
        st.read_bytes = read_chunk_bytes;  // a producer: read in large chunks from now on
        self->configure_read(hdl, caf::io::receive_policy::at_most(st.read_bytes));
      }
      st.buf.append(msg.buf.begin(), msg.buf.end());
      bool ack_moved = false;
      auto lines_before = st.lines;
      if (!read_lines(self, hdl, ctx, ack_moved))
        return;
      track_incomplete(st, lines_before);
      if (ack_moved)
        send_ack(self, hdl);
      self->flush(hdl);
      maybe_resume(self, hdl, ctx, acceptor);
      watch(self, ctx);
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
      maybe_resume(self, hdl, ctx, acceptor);
      watch(self, ctx);
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
      maybe_resume(self, hdl, ctx, acceptor);
      watch(self, ctx);
    },
    [=](const caf::io::data_transferred_msg& x) {
      self->state.unsent = x.remaining;
      if (self->state.closing && x.remaining == 0) {
        self->close(hdl);
        self->quit();
        return;
      }
      maybe_resume(self, hdl, ctx, acceptor);
    },
    [=](const caf::io::connection_passivated_msg&) {},
    [=](tick_atom, int64_t scheduled_for) { check_deadline(self, hdl, ctx, scheduled_for); },
    [=](resume_atom) {
      auto& st = self->state;
      st.resume_scheduled = false;
      if (st.closed || st.armed || window_full(st, ctx))
        return;  // a later ack or data_transferred_msg schedules the next try
      spdlog::debug("[tcp] resume: lines={} acked={}", st.lines, st.acked);
      if (st.paused && st.incomplete_since_ms)
        st.incomplete_since_ms = steady_ms();  // the client could not finish its line while we did not read
      st.paused = false;
      arm(self, hdl);
      st.resume_gen += 1;
      st.reads_at_resume = st.reads;
      self->delayed_send(self, std::chrono::milliseconds(20), resume_atom::value, st.resume_gen, 0);
      watch(self, ctx);
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
    [=](shutdown_atom, const std::string& why) {  // evicted by the acceptor (it was idle)
      ctx->metrics.tcp_closed_evicted.fetch_add(1, std::memory_order_relaxed);
      fatal(self, hdl, why);
    },
  };
}

/// While a connection is paused on the node's input budget, checks every
/// budget_poll whether it is back under half, then wakes every connection
/// (those not paused ignore it).
void poll_budget(acceptor_broker* self, NodeContext* ctx) {
  auto& st = self->state;
  if (!ctx->input_budget.may_resume()) {
    self->delayed_send(self, budget_poll, wake_atom::value, true);
    return;
  }
  st.budget_polling = false;
  for (auto& [c, idle] : st.connections)
    self->send(c, resume_atom::value);
}

/// At limits.connections_max: tells the connection idle for longest to close
/// (with a fatal line), so idle connections cannot lock new clients out.
/// False when none is idle. O(connections), only at the cap.
bool evict_longest_idle(acceptor_broker* self) {
  auto& st = self->state;
  const caf::actor* victim = nullptr;
  int64_t since = 0;
  for (auto& [c, idle] : st.connections)
    if (*idle > 0 && !st.evicted.count(c) && (!victim || *idle < since)) {
      victim = &c;
      since = *idle;
    }
  if (!victim)
    return false;
  st.evicted.insert(*victim);
  self->send(*victim, shutdown_atom::value, std::string("closed to make room: connections_max reached and this "
                                                        "connection was the longest idle"));
  return true;
}

caf::behavior acceptor(acceptor_broker* self, NodeContext* ctx) {
  self->set_down_handler([=](caf::down_msg& dm) {
    if (auto a = caf::actor_cast<caf::actor>(dm.source)) {
      self->state.connections.erase(a);
      self->state.evicted.erase(a);
    }
    if (self->state.stopping && self->state.connections.empty())
      self->quit();
  });
  return {
    [=](const caf::io::new_connection_msg& msg) {
      auto& st = self->state;
      auto open = ctx->metrics.connections_open.load();
      auto leaving = std::min<uint64_t>(open, st.evicted.size());
      if (open - leaving >= ctx->config.limits.connections_max && !evict_longest_idle(self)) {
        std::string line = "{\"error\":\"too many connections\",\"fatal\":true}\n";
        self->write(msg.handle, line.size(), line.data());
        self->flush(msg.handle);
        self->close(msg.handle);
        return;
      }
      auto idle_since = std::make_shared<int64_t>(0);
      auto conn = self->fork(connection, msg.handle, ctx, caf::actor_cast<caf::actor>(self), idle_since);
      if (conn) {
        self->monitor(conn);
        st.connections.emplace(conn, std::move(idle_since));
      }
    },
    [=](wake_atom) {  // a connection paused on the node's input budget
      if (self->state.budget_polling)
        return;
      self->state.budget_polling = true;
      poll_budget(self, ctx);
    },
    [=](wake_atom, bool) { poll_budget(self, ctx); },

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
      for (auto& [c, idle] : self->state.connections)
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
