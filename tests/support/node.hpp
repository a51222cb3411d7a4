// One real `waymark serve` process for an integration test: its own temporary
// root (config.json, data/, journeys/, stdout/stderr logs), started with
// fork/exec, ready when <data>/ready.json appears, stopped by kill -9 or
// SIGTERM, restartable on the same data directory. On destruction it kills
// the process, prints the node's logs when the test failed, and removes the
// temporary root.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <boost/json.hpp>
#include <cstdint>
#include <string>

#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

namespace waymark::it {

struct NodeOptions {
  /// Merged (recursively, objects only) over the test defaults: data_dir and
  /// journeys_dir in the temporary root, every listener on 127.0.0.1:0.
  boost::json::object config;
  bool manual_clock = true;  // passes --clock manual
  /// Sent as "Authorization: Bearer ..." by http() and the helpers built on it
  /// (set it when the config has auth.admin_tokens).
  std::string admin_token;
};

class Node {
public:
  explicit Node(NodeOptions options = {});
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Writes config.json, removes a stale ready.json, starts the process and
  /// waits (polling every 20 ms, at most 10 s) for ready.json.
  ::testing::AssertionResult start();
  /// SIGKILL and reap; the data directory is left as the crash left it.
  void kill9();
  /// SIGTERM and wait up to `timeout_ms` for the exit; returns the exit status
  /// (128 + signal when killed by a signal, -1 when it did not exit in time).
  int terminate(int timeout_ms = 10000);
  /// start() again on the same data directory (after kill9/terminate).
  ::testing::AssertionResult restart() { return start(); }
  /// True while the process has not exited (checked with waitpid WNOHANG).
  bool running();

  /// The options the next start() uses (e.g. a new member list before a restart).
  NodeOptions& options() { return options_; }

  uint16_t tcp_port() const { return tcp_port_; }
  uint16_t http_port() const { return http_port_; }
  pid_t pid() const { return pid_; }
  const std::string& root() const { return root_.path(); }
  std::string data_dir() const { return root_ / "data"; }
  std::string journeys_dir() const { return root_ / "journeys"; }

  HttpResponse http(const std::string& method, const std::string& path, const std::string& body = "",
                    int timeout_ms = 10000);
  HttpResponse get(const std::string& path) { return http("GET", path); }
  HttpResponse put(const std::string& path, const std::string& body) { return http("PUT", path, body); }
  HttpResponse post(const std::string& path, const std::string& body) { return http("POST", path, body); }

  /// GET /api/customers/{id}
  HttpResponse customer(const std::string& id) { return get("/api/customers/" + id); }
  /// PUT /api/templates/{id} and PUT /api/journeys/{id}; the id is read from the body.
  HttpResponse deploy_template(const std::string& json_text);
  HttpResponse deploy_journey(const std::string& json_text);
  /// POST /api/clock {"advance": d}; returns after due timers fired (contract).
  HttpResponse advance_clock(const std::string& duration);
  /// Polls GET /api/stats (every 20 ms, at most `timeout_ms`) until
  /// outbox_pending and status_events_owed are 0: every committed delivery was
  /// handed to its provider, and the events of their final statuses committed.
  ::testing::AssertionResult wait_outbox_drained(int timeout_ms = 10000);

  /// The last `bytes` of the node's stdout and stderr (all runs).
  std::string logs(size_t bytes = 8192) const;

private:
  std::string config_text() const;
  ::testing::AssertionResult wait_ready();

  NodeOptions options_;
  TempDir root_;
  pid_t pid_ = -1;
  int runs_ = 0;
  uint16_t tcp_port_ = 0;
  uint16_t http_port_ = 0;
};

}  // namespace waymark::it
