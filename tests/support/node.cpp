#include "support/node.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "support/events.hpp"

namespace waymark::it {
namespace json = boost::json;
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(20);

// Recursive merge: objects merge key by key, anything else replaces.
void merge_into(json::object& base, const json::object& over) {
  for (const auto& kv : over) {
    auto* existing = base.if_contains(kv.key());
    if (existing && existing->is_object() && kv.value().is_object())
      merge_into(existing->get_object(), kv.value().get_object());
    else
      base[kv.key()] = kv.value();
  }
}

int exit_code(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

std::string tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

std::string id_of(const std::string& json_text) {
  boost::system::error_code ec;
  auto v = json::parse(json_text, ec);
  if (ec || !v.is_object() || !v.get_object().if_contains("id") || !v.at("id").is_string())
    return "invalid-id";
  return std::string(v.at("id").get_string());
}

// Waits up to timeout_ms for `pid` to exit, without a sleep loop when the
// kernel offers pidfd_open (Linux >= 5.3). Returns the waitpid status or -1.
int wait_exit(pid_t pid, int timeout_ms) {
  int status = 0;
#ifdef SYS_pidfd_open
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pfd >= 0) {
    pollfd p{pfd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    ::close(pfd);
    if (r <= 0)
      return -1;
    return ::waitpid(pid, &status, 0) == pid ? status : -1;
  }
#endif
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return status;
    std::this_thread::sleep_for(kPollInterval);
  }
  return -1;
}

}  // namespace

Node::Node(NodeOptions options) : options_(std::move(options)), root_("waymark-it-") {
  ::mkdir(data_dir().c_str(), 0755);
  ::mkdir(journeys_dir().c_str(), 0755);
}

Node::~Node() {
  if (pid_ > 0)
    kill9();
  if (::testing::Test::HasFailure())
    std::fprintf(stderr, "---- waymark node logs (%s) ----\n%s\n---- end of node logs ----\n", root().c_str(),
                 logs(16384).c_str());
}

std::string Node::config_text() const {
  json::object cfg{
    {"node", json::object{{"id", "it"}}},
    {"data_dir", data_dir()},
    {"journeys_dir", journeys_dir()},
    {"tcp", json::object{{"listen", "127.0.0.1:0"}}},
    {"http", json::object{{"listen", "127.0.0.1:0"}}},
    {"cluster", json::object{{"listen", "127.0.0.1:0"}}},
  };
  merge_into(cfg, options_.config);
  return json::serialize(cfg);
}

::testing::AssertionResult Node::start() {
  if (pid_ > 0)
    return ::testing::AssertionFailure() << "node already running (pid " << pid_ << ")";
  const std::string config_path = root_ / "config.json";
  if (!write_file(config_path, config_text()))
    return ::testing::AssertionFailure() << "cannot write " << config_path;
  ::unlink((data_dir() + "/ready.json").c_str());
  ++runs_;
  std::string marker = "==== waymark run #" + std::to_string(runs_) + " ====\n";
  int out = ::open((root_ / "node.stdout.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int err = ::open((root_ / "node.stderr.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0 || err < 0)
    return ::testing::AssertionFailure() << "cannot open log files in " << root();
  (void)!::write(out, marker.data(), marker.size());
  (void)!::write(err, marker.data(), marker.size());

  // Everything the child needs is prepared before fork (only async-signal-safe calls after it).
  std::vector<std::string> args = {WAYMARK_BIN, "serve", "--config", config_path, "--data", data_dir()};
  if (options_.manual_clock) {
    args.push_back("--clock");
    args.push_back("manual");
  }
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test binary
    if (::getppid() != parent)
      ::_exit(127);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out);
  ::close(err);
  if (pid < 0)
    return ::testing::AssertionFailure() << "fork: " << std::strerror(errno);
  pid_ = pid;
  return wait_ready();
}

::testing::AssertionResult Node::wait_ready() {
  const std::string ready = data_dir() + "/ready.json";
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ::testing::AssertionFailure() << "waymark exited with status " << exit_code(status)
                                           << " before it was ready\n" << logs();
    }
    boost::system::error_code ec;
    auto v = json::parse(read_file(ready), ec);
    if (!ec && v.is_object()) {
      tcp_port_ = static_cast<uint16_t>(int_at(v, "tcp_port", 0));
      http_port_ = static_cast<uint16_t>(int_at(v, "http_port", 0));
      if (tcp_port_ == 0 || http_port_ == 0)
        return ::testing::AssertionFailure() << "ready.json lacks tcp_port/http_port: " << read_file(ready);
      return ::testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(kPollInterval);  // waiting for a process to start (allowed)
  }
  return ::testing::AssertionFailure() << "no " << ready << " within 10 s\n" << logs();
}

void Node::kill9() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int Node::terminate(int timeout_ms) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  int status = wait_exit(pid_, timeout_ms);
  if (status == -1)
    return -1;  // still running; the destructor kills it
  pid_ = -1;
  return exit_code(status);
}

bool Node::running() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

HttpResponse Node::http(const std::string& method, const std::string& path, const std::string& body,
                        int timeout_ms) {
  HttpRequest req;
  req.method = method;
  req.path = path;
  req.body = body;
  req.timeout_ms = timeout_ms;
  if (!options_.admin_token.empty())
    req.headers.emplace_back("Authorization", "Bearer " + options_.admin_token);
  return http_request(http_port_, req);
}

HttpResponse Node::deploy_template(const std::string& json_text) {
  return put("/api/templates/" + id_of(json_text), json_text);
}

HttpResponse Node::deploy_journey(const std::string& json_text) {
  return put("/api/journeys/" + id_of(json_text), json_text);
}

HttpResponse Node::advance_clock(const std::string& duration) {
  return http("POST", "/api/clock", json::serialize(json::object{{"advance", duration}}), 30000);
}

::testing::AssertionResult Node::wait_outbox_drained(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  HttpResponse last;
  while (Clock::now() < deadline) {
    last = get("/api/stats");
    auto v = last.json();
    if (last.status == 200 && v.is_object()) {
      int64_t pending = int_at(v, "outbox_pending", -1);
      if (pending < 0)
        return ::testing::AssertionFailure() << "/api/stats has no integer outbox_pending: " << last.body;
      // ... and their final statuses' "Message <Status>" events are committed.
      if (pending == 0 && int_at(v, "status_events_owed", 0) == 0)
        return ::testing::AssertionSuccess();
    }
    std::this_thread::sleep_for(kPollInterval);  // bounded poll allowed by the brief
  }
  return ::testing::AssertionFailure() << "outbox not drained within " << timeout_ms
                                       << " ms; last /api/stats: " << last.describe();
}

std::string Node::logs(size_t bytes) const {
  return "[stdout]\n" + tail(read_file(root_ / "node.stdout.log"), bytes) + "\n[stderr]\n" +
         tail(read_file(root_ / "node.stderr.log"), bytes);
}

}  // namespace waymark::it
