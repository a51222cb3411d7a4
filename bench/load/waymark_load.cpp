// waymark-load: the load generator of issue #5 (bench/README.md).
//
// Drives a node over the TCP gateway (PRODUCT.md §5) with N customers, M events
// and C connections after deploying 3 journeys over HTTP, and reports events/s
// to the last ack, ack latency percentiles (send time of a line -> first ack
// covering it), the node's peak RSS (VmHWM) and live actor count. Each run is
// followed by a bare-loop baseline of the same events in this process (Boost.JSON
// parse + unordered_map update + LMDB commit of 8192 events per txn, no actors),
// so every report carries the engine/baseline ratio. With --spawn it starts its
// own `waymark serve` (fresh temp data dir per run, manual clock) and stops it.
// --timers: N customers enter a journey with a 1 h wait, then one manual-clock
// advance fires all N timers; reports the fire rate and how late they fired.
// --cluster N (with --spawn): N members on loopback, every connection to the
// first one (so about (N-1)/N of the events are forwarded to their owners);
// --compare-single alternates single-node and cluster runs in one invocation.
#include <arpa/inet.h>
#include <fcntl.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <sstream>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "waymark/cluster.hpp"

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

#ifndef WAYMARK_BIN
#define WAYMARK_BIN "./build/waymark"
#endif
#ifndef WAYMARK_SOURCE_DIR
#define WAYMARK_SOURCE_DIR "."
#endif

// ---- targets of issue #5 (printed beside the results) ---------------------------
constexpr double kTargetEventsPerS = 250000;
constexpr double kStretchEventsPerS = 350000;
constexpr double kTargetP99Ms = 10;
constexpr double kTargetRss1MLiveMb = 1536;
constexpr double kTargetTimersPerS = 200000;
constexpr double kTargetTimerLatenessMs = 100;

struct Options {
  bool spawn = false;
  std::string waymark_bin = WAYMARK_BIN;
  std::string journeys_dir = std::string(WAYMARK_SOURCE_DIR) + "/config/journeys";
  uint16_t tcp_port = 7400;
  uint16_t http_port = 7480;
  std::string data_dir = "data";  // for ready.json (pid) when not spawning
  uint64_t customers = 100000;
  uint64_t events = 1000000;
  unsigned connections = 4;
  uint64_t window = 32768;  // per-connection unacked lines (server stops reading at 65,536)
  double rate = 0;          // events/s over all connections; 0 = as fast as acks allow
  unsigned runs = 1;
  bool paced_half = false;  // after the runs, one paced run at half the median max rate
  bool baseline = true;
  bool deploy = true;
  std::string perf_hook;    // shell command run with $WAYMARK_PID set while the load runs
  int stall_timeout_s = 60;
  bool timers = false;                   // timers mode: N customers enter a wait, then one clock advance
  double zipf = 0;                       // > 0: customers drawn from Zipf(s) over N instead of round-robin
  std::vector<std::string> node_sets;  // "section.key=value" written into the spawned node's config
  std::string tmp_dir = "/tmp";          // parent of the spawned node's data dir and the bare loop's LMDB
  unsigned cluster = 0;                  // > 1: spawn this many members, connect every client to the first
  bool compare_single = false;           // with --cluster: alternate single-node and cluster runs
  std::string entry = "first";           // with --cluster: "first" member, or the one owning the fewest events
};

// ---- small helpers -------------------------------------------------------------

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string fmt_int(double v) {
  std::string s = std::to_string(static_cast<long long>(std::llround(v)));
  for (int i = static_cast<int>(s.size()) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3)
    s.insert(static_cast<size_t>(i), ",");
  return s;
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ---- workload: pre-generated NDJSON per connection -----------------------------

struct Lines {
  std::string bytes;          // all lines of one connection, '\n'-terminated
  std::vector<uint64_t> end;  // end offset (after '\n') of each line
  std::vector<uint32_t> customer;  // customer index of each line (its key is "c<index>")
  size_t count() const { return end.size(); }
};

struct Workload {
  std::vector<Lines> per_conn;
  uint64_t total = 0;
};

uint64_t mix64(uint64_t x) {  // splitmix64 finaliser: a deterministic "random" choice per event
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One event for `customer` in `round` (round 0 = every customer's first event, an identify).
void append_event(std::string& out, uint64_t i, uint64_t customer, uint64_t round, const std::string& run_tag) {
  std::string c = "c" + std::to_string(customer);
  std::string head = "{\"userId\":\"" + c + "\",\"messageId\":\"" + run_tag + std::to_string(i) + "\",";
  uint64_t pick = round == 0 ? 0 : 1 + mix64(i) % 100;
  if (pick == 0) {
    out += head + "\"type\":\"identify\",\"traits\":{\"first_name\":\"Ann\",\"plan\":\"trial\",\"email\":\"" + c +
           "@example.com\",\"phone\":\"+4915100" + std::to_string(customer) + "\"}}\n";
  } else if (pick <= 35) {
    out += head + "\"type\":\"track\",\"event\":\"Page Viewed\",\"properties\":{\"path\":\"/pricing\"}}\n";
  } else if (pick <= 55) {
    out += head + "\"type\":\"track\",\"event\":\"Feature Used\",\"properties\":{\"feature\":\"reports\"}}\n";
  } else if (pick <= 70) {
    out += head + "\"type\":\"track\",\"event\":\"Product Added\",\"properties\":{\"cart_id\":\"k" + c + "-" +
           std::to_string(round / 4) + "\",\"total\":42.5}}\n";
  } else if (pick <= 80) {
    out += head + "\"type\":\"track\",\"event\":\"Order Completed\",\"properties\":{\"revenue\":19.9}}\n";
  } else if (pick <= 90) {
    out += head + "\"type\":\"identify\",\"traits\":{\"last_round\":" + std::to_string(round) + "}}\n";
  } else {
    out += head + "\"type\":\"track\",\"event\":\"Trial Started\",\"properties\":{\"trial_id\":\"t" + c + "\"}}\n";
  }
}

// The connection of `customer`: customer mod C; or, with `owned` (partition ->
// owned by the entry member), entry-owned customers on the first max(1, C/3)
// connections and forwarded ones on the rest, so that cumulative acks never make
// a line of one kind wait for a line of the other (the forward hop's own latency).
struct ConnOf {
  unsigned connections = 1;
  const std::vector<bool>* owned = nullptr;
  unsigned operator()(uint64_t customer) const {
    if (!owned || connections < 2)
      return static_cast<unsigned>(customer % connections);
    unsigned local = std::max(1u, (connections + 1) / 3), forwarded = connections - local;
    auto parts = static_cast<uint32_t>(owned->size());
    bool mine = (*owned)[waymark::cluster::partition_of("c" + std::to_string(customer), parts)];
    return mine ? static_cast<unsigned>(customer % local) : local + static_cast<unsigned>(customer % forwarded);
  }
};

// --zipf s: event i goes to customer k (0-based rank) with probability
// proportional to 1/(k+1)^s, drawn with a fixed seed; a customer's first event
// is its identify (round 0), as in the round-robin workload.
Workload make_zipf_workload(const Options& o, const std::string& run_tag, ConnOf conn_of) {
  Workload w;
  w.per_conn.resize(o.connections);
  std::vector<double> cdf(o.customers);
  double sum = 0;
  for (uint64_t k = 0; k < o.customers; ++k)
    cdf[k] = sum += 1.0 / std::pow(static_cast<double>(k + 1), o.zipf);
  std::vector<uint64_t> seen(o.customers, 0);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> uniform(0, sum);
  for (uint64_t i = 0; i < o.events; ++i) {
    auto customer = static_cast<uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), uniform(rng)) - cdf.begin());
    customer = std::min(customer, o.customers - 1);
    Lines& l = w.per_conn[conn_of(customer)];
    append_event(l.bytes, i, customer, seen[customer]++, run_tag);
    l.end.push_back(l.bytes.size());
    l.customer.push_back(static_cast<uint32_t>(customer));
  }
  w.total = o.events;
  return w;
}

// Event i goes to customer perm(i mod N) in round i / N: every round touches each
// customer once in a shuffled order; a customer always uses the same connection,
// so its events stay in order.
Workload make_workload(const Options& o, const std::string& run_tag, const std::vector<bool>* owned = nullptr) {
  ConnOf conn_of{o.connections, owned};
  if (o.zipf > 0)
    return make_zipf_workload(o, run_tag, conn_of);
  Workload w;
  w.per_conn.resize(o.connections);
  uint64_t n = o.customers, stride = 1000003;
  while (std::gcd(stride, n) != 1)
    ++stride;
  for (auto& l : w.per_conn) {
    l.bytes.reserve(o.events / o.connections * 190);
    l.end.reserve(o.events / o.connections + 1);
  }
  for (uint64_t i = 0; i < o.events; ++i) {
    uint64_t round = i / n, customer = ((i % n) * stride + round * 7919) % n;
    Lines& l = w.per_conn[conn_of(customer)];
    append_event(l.bytes, i, customer, round, run_tag);
    l.end.push_back(l.bytes.size());
    l.customer.push_back(static_cast<uint32_t>(customer));
  }
  w.total = o.events;
  return w;
}

// ---- a minimal blocking HTTP/1.1 client (Connection: close) ----------------------

struct HttpResult {
  int status = 0;
  std::string body;
};

int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string dechunk(const std::string& body) {
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string::npos)
      break;
    size_t len = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (len == 0)
      break;
    out += body.substr(eol + 2, len);
    pos = eol + 2 + len + 2;
  }
  return out;
}

HttpResult http(uint16_t port, const std::string& method, const std::string& path, const std::string& body = "",
                int timeout_s = 30) {
  HttpResult r;
  int fd = connect_loopback(port);
  if (fd < 0)
    return r;
  timeval tv{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                    "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return r;
  }
  std::string resp;
  char buf[16384];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
    resp.append(buf, static_cast<size_t>(n));
  ::close(fd);
  size_t hdr_end = resp.find("\r\n\r\n");
  if (resp.compare(0, 5, "HTTP/") != 0 || hdr_end == std::string::npos)
    return r;
  r.status = std::atoi(resp.c_str() + resp.find(' ') + 1);
  std::string headers = resp.substr(0, hdr_end);
  std::transform(headers.begin(), headers.end(), headers.begin(), ::tolower);
  r.body = resp.substr(hdr_end + 4);
  if (headers.find("transfer-encoding: chunked") != std::string::npos)
    r.body = dechunk(r.body);
  return r;
}

// ---- the node: spawned (fork/exec, temp dir) or already running ---------------------

struct NodeHandle {
  pid_t pid = -1;        // the node's pid (for VmHWM and perf)
  bool owned = false;    // spawned by us: kill at the end
  std::string root;      // temp root when spawned
  uint16_t tcp_port = 0;
  uint16_t http_port = 0;
  std::string cluster_addr;  // "127.0.0.1:port" of a spawned cluster member
};

std::optional<json::object> read_ready(const std::string& data_dir) {
  boost::system::error_code ec;
  auto v = json::parse(read_text(data_dir + "/ready.json"), ec);
  if (ec || !v.is_object())
    return std::nullopt;
  return v.get_object();
}

int64_t int_field(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : v && v->is_uint64() ? static_cast<int64_t>(v->get_uint64()) : 0;
}

// Sets "a.b.c" in `cfg` to `value` parsed as JSON (a bare word stays a string).
void set_dotted(json::object& cfg, const std::string& path, const std::string& value) {
  json::object* at = &cfg;
  size_t start = 0, dot;
  while ((dot = path.find('.', start)) != std::string::npos) {
    json::value& next = (*at)[path.substr(start, dot - start)];
    if (!next.is_object())
      next = json::object{};
    at = &next.get_object();
    start = dot + 1;
  }
  boost::system::error_code ec;
  json::value v = json::parse(value, ec);
  (*at)[path.substr(start)] = ec ? json::value(value) : v;
}

/// A fresh directory `<parent>/<prefix>XXXXXX`, or "" with `error` set.
std::string make_temp_dir(const std::string& parent, const char* prefix, std::string& error) {
  std::string tmpl = parent + "/" + prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    error = "mkdtemp in " + parent + ": " + std::strerror(errno);
    return "";
  }
  return tmpl;
}

bool spawn_node(const Options& o, NodeHandle& h, std::string& error, const std::string& id = "bench",
                const json::object* cluster = nullptr) {
  h.root = make_temp_dir(o.tmp_dir, "waymark-load-", error);
  if (h.root.empty())
    return false;
  std::error_code fs_ec;
  fs::create_directories(h.root + "/data", fs_ec);
  fs::create_directories(h.root + "/journeys", fs_ec);  // empty: the journeys are deployed over HTTP
  if (fs_ec) {
    error = "cannot create " + h.root + ": " + fs_ec.message();
    return false;
  }
  json::object cfg{{"node", json::object{{"id", id}}},
                   {"data_dir", h.root + "/data"},
                   {"journeys_dir", h.root + "/journeys"},
                   {"tcp", json::object{{"listen", "127.0.0.1:0"}}},
                   {"http", json::object{{"listen", "127.0.0.1:0"}}},
                   {"cluster", json::object{{"listen", "127.0.0.1:0"}}},
                   {"log_level", "warn"}};
  if (cluster)
    cfg["cluster"] = *cluster;
  for (const auto& kv : o.node_sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      error = "--set expects section.key=value, got " + kv;
      return false;
    }
    set_dotted(cfg, kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::ofstream(h.root + "/config.json") << json::serialize(cfg);
  std::vector<std::string> args = {o.waymark_bin, "serve", "--config", h.root + "/config.json", "--clock", "manual"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log_path = h.root + "/node.log";
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed load generator
    if (::getppid() != parent)
      ::_exit(127);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (log >= 0)
    ::close(log);
  if (pid < 0) {
    error = "fork failed";
    return false;
  }
  h.pid = pid;
  h.owned = true;
  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      h.pid = -1;
      error = "waymark exited before ready:\n" + read_text(log_path);
      return false;
    }
    if (auto ready = read_ready(h.root + "/data")) {
      h.tcp_port = static_cast<uint16_t>(int_field(*ready, "tcp_port"));
      h.http_port = static_cast<uint16_t>(int_field(*ready, "http_port"));
      return h.tcp_port && h.http_port;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // waiting for a process to start
  }
  error = "no ready.json within 15 s:\n" + read_text(log_path);
  return false;
}

void stop_node(NodeHandle& h) {
  if (h.owned && h.pid > 0) {
    ::kill(h.pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500 && ::waitpid(h.pid, &status, WNOHANG) != h.pid; ++i) {
      if (i == 499) {
        ::kill(h.pid, SIGKILL);
        ::waitpid(h.pid, &status, 0);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    h.pid = -1;
  }
  if (h.owned && !h.root.empty()) {
    std::error_code ec;
    fs::remove_all(h.root, ec);
  }
}

// ---- a cluster of spawned members on loopback (--cluster N) ----------------------------

// `n` distinct loopback ports free when asked (members must know each other's
// addresses before they start, so the cluster port cannot be 0). Drawn below the
// kernel's ephemeral range, so no node binding port 0 takes one first; all held
// until all are picked, so none is handed out twice.
std::vector<uint16_t> free_cluster_ports(size_t n) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 32000);
  std::vector<int> fds;
  std::vector<uint16_t> out;
  for (int tries = 0; out.size() < n && tries < 1000; ++tries) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(pick(rng)));
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (fd >= 0)
        ::close(fd);
      continue;
    }
    fds.push_back(fd);
    out.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds)
    ::close(fd);
  return out;
}

std::string loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

std::optional<json::object> cluster_status(uint16_t http_port) {
  auto r = http(http_port, "GET", "/api/cluster", "", 5);
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (r.status != 200 || ec || !v.is_object())
    return std::nullopt;
  return v.get_object();
}

// The member says "ready" (its catalog in step, its partitions taken in) and sees all `n` members up.
bool member_ready(uint16_t http_port, size_t n) {
  auto st = cluster_status(http_port);
  if (!st || !st->if_contains("ready") || st->at("ready") != json::value(true))
    return false;
  auto* members = st->if_contains("members");
  if (!members || !members->is_array() || members->as_array().size() != n)
    return false;
  for (auto& m : members->as_array())
    if (!m.is_object() || !m.as_object().if_contains("up") || m.as_object().at("up") != json::value(true))
      return false;
  return true;
}

void stop_nodes(std::vector<NodeHandle>& nodes);

// Starts `n` members (own temp data dir each, same partition count, manual clock)
// and waits until every member is ready with all members up.
bool spawn_cluster(const Options& o, unsigned n, std::vector<NodeHandle>& nodes, std::string& error) {
  auto ports = free_cluster_ports(n);
  if (ports.size() != n) {
    error = "cannot find " + std::to_string(n) + " free loopback ports for the cluster";
    return false;
  }
  for (unsigned i = 0; i < n; ++i) {
    json::array peers;
    for (unsigned j = 0; j < n; ++j)
      if (j != i)
        peers.push_back(json::value(loopback(ports[j])));
    json::object cluster{{"listen", loopback(ports[i])}, {"peers", std::move(peers)}};
    nodes.emplace_back().cluster_addr = loopback(ports[i]);
    if (!spawn_node(o, nodes.back(), error, "bench-" + std::to_string(i + 1), &cluster)) {
      error = "member " + std::to_string(i + 1) + ": " + error;
      return false;
    }
  }
  auto deadline = Clock::now() + std::chrono::seconds(30);
  for (auto& m : nodes)
    while (!member_ready(m.http_port, n)) {
      if (Clock::now() > deadline) {
        auto st = cluster_status(m.http_port);
        error = "member on HTTP port " + std::to_string(m.http_port) + " not ready with all " + std::to_string(n) +
                " members up within 30 s: " + (st ? json::serialize(*st) : "no answer") + "\nits log:\n" +
                read_text(m.root + "/node.log");
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a fact that cannot be true early
    }
  return true;
}

// Which partitions the member answering on `http_port` owns (index = partition), by its GET /api/cluster.
bool entry_partitions(uint16_t http_port, std::vector<bool>& owned, std::string& error) {
  auto st = cluster_status(http_port);
  if (!st || !st->if_contains("this") || !st->at("this").is_string()) {
    error = "GET /api/cluster on the entry member gave no view";
    return false;
  }
  owned.assign(static_cast<size_t>(int_field(*st, "partitions")), false);
  for (auto& m : st->at("members").as_array())
    if (m.as_object().at("address") == st->at("this"))
      for (auto& p : m.as_object().at("partitions").as_array())
        if (p.is_number() && p.to_number<uint64_t>() < owned.size())
          owned[p.to_number<uint64_t>()] = true;
  if (owned.empty()) {
    error = "GET /api/cluster on the entry member gave 0 partitions";
    return false;
  }
  return true;
}

// utime + stime of a process in seconds (/proc/<pid>/stat fields 14 and 15), or {0, 0}.
std::pair<double, double> cpu_seconds(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos)
    return {0, 0};
  std::istringstream in(stat.substr(paren + 2));
  std::string field;
  double user = 0, sys = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14)
      user = std::atof(field.c_str());
    if (i == 15)
      sys = std::atof(field.c_str());
  }
  double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return {user / tick, sys / tick};
}

// A "Name:   N kB" line of /proc/<pid>/status in MB (VmHWM = peak RSS; RssAnon/RssFile split the current RSS
// into heap and file-backed pages, the latter mostly the LMDB map).
double status_mb(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, name.size() + 1, name + ":") == 0)
      return std::atof(line.c_str() + name.size() + 1) / 1024.0;
  return 0;
}

double peak_rss_mb(pid_t pid) { return status_mb(pid, "VmHWM"); }

// ---- deploying the journey mix -----------------------------------------------------

// The third live journey: every "Feature Used" marks the profile and waits a day
// (a durable timer per instance; with the manual clock it never fires during a run).
const char* kFeatureJourney = R"({"id":"feature-adoption","name":"Feature adoption","owner":"bench",
 "entry":{"event":"Feature Used"},"reentry":{"mode":"after_exit"},"start":"mark",
 "steps":{"mark":{"type":"update","set":{"traits.adopted":"yes"},"next":"wait"},
          "wait":{"type":"wait","duration":"1d","next":"done"},
          "done":{"type":"exit"}}})";

bool deploy_one(uint16_t port, const std::string& kind, const std::string& text, std::string& error) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object() || !v.get_object().if_contains("id") || !v.at("id").is_string()) {
    error = "cannot read the id of a " + kind;
    return false;
  }
  std::string id(v.at("id").as_string());
  auto r = http(port, "PUT", "/api/" + kind + "/" + id, text);
  if (r.status != 200 && r.status != 201) {
    error = "PUT /api/" + kind + "/" + id + " -> " + std::to_string(r.status) + " " + r.body;
    return false;
  }
  return true;
}

// Templates first (journeys reference them), then the sample journeys, then ours.
int deploy_mix(const Options& o, uint16_t port, std::string& error) {
  std::vector<fs::path> files;
  std::error_code fs_ec;
  for (fs::directory_iterator it(o.journeys_dir, fs_ec), end; !fs_ec && it != end; it.increment(fs_ec))
    files.push_back(it->path());
  if (fs_ec) {
    error = "cannot list " + o.journeys_dir + ": " + fs_ec.message();
    return -1;
  }
  std::sort(files.begin(), files.end());
  int journeys = 0;
  for (const char* suffix : {".template.json", ".journey.json"})
    for (auto& f : files) {
      std::string name = f.filename().string();
      if (name.size() < std::strlen(suffix) || name.compare(name.size() - std::strlen(suffix), std::string::npos, suffix))
        continue;
      bool journey = std::strcmp(suffix, ".journey.json") == 0;
      if (!deploy_one(port, journey ? "journeys" : "templates", read_text(f.string()), error))
        return -1;
      journeys += journey;
    }
  if (!deploy_one(port, "journeys", kFeatureJourney, error))
    return -1;
  return journeys + 1;
}

// ---- one connection: send within the window (optionally paced), read acks -------------

struct ConnResult {
  uint64_t acked = 0;
  uint64_t nacks = 0;
  std::string first_nack;
  std::string error;
  Clock::time_point last_ack;
  std::vector<uint32_t> latency_us;  // one per acked line
};

// Handles one server line; returns false on a fatal error.
bool on_server_line(const std::string& line, const std::vector<int64_t>& sent_ns, uint64_t sent, Clock::time_point t0,
                    ConnResult& r) {
  if (line.compare(0, 7, "{\"ack\":") == 0) {
    uint64_t n = std::strtoull(line.c_str() + 7, nullptr, 10);
    if (n > sent) {
      r.error = "ack " + std::to_string(n) + " beyond the " + std::to_string(sent) + " lines sent";
      return false;
    }
    auto now = Clock::now();
    int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - t0).count();
    for (uint64_t k = r.acked; k < n; ++k)
      r.latency_us.push_back(static_cast<uint32_t>(std::max<int64_t>(0, now_ns - sent_ns[k]) / 1000));
    if (n > r.acked) {
      r.acked = n;
      r.last_ack = now;
    }
    return true;
  }
  if (line.compare(0, 8, "{\"nack\":") == 0) {
    if (r.nacks++ == 0)
      r.first_nack = line;
    return true;
  }
  r.error = "server: " + line;
  return false;
}

void run_connection(int fd, const Lines& lines, const Options& o, double rate_per_conn, Clock::time_point t0,
                    ConnResult& r) {
  const size_t n = lines.count();
  std::vector<int64_t> sent_ns(n);
  r.latency_us.reserve(n);
  uint64_t written = 0;  // bytes written
  size_t sent = 0;       // lines fully written
  std::string in;
  char buf[65536];
  auto last_progress = Clock::now();
  while (r.acked < n) {
    auto now = Clock::now();
    size_t allowed = std::min<uint64_t>(n, r.acked + o.window);
    int64_t wait_ns = 1000000000;
    if (rate_per_conn > 0) {
      double elapsed = seconds_between(t0, now);
      size_t due = std::min<size_t>(n, static_cast<size_t>(elapsed * rate_per_conn) + 1);
      if (due < allowed) {
        allowed = due;
        wait_ns = std::max<int64_t>(20000, static_cast<int64_t>(((due) / rate_per_conn - elapsed) * 1e9));
      }
    }
    bool want_write = allowed > 0 && written < lines.end[allowed - 1];
    pollfd p{fd, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
    timespec ts{wait_ns / 1000000000, wait_ns % 1000000000};
    if (::ppoll(&p, 1, &ts, nullptr) < 0 && errno != EINTR) {
      r.error = std::string("poll: ") + std::strerror(errno);
      return;
    }
    bool progress = false;
    if (want_write && (p.revents & POLLOUT)) {
      ssize_t w = ::send(fd, lines.bytes.data() + written, lines.end[allowed - 1] - written, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EINTR) {
        r.error = std::string("send: ") + std::strerror(errno);
        return;
      }
      if (w > 0) {
        written += static_cast<uint64_t>(w);
        int64_t t = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
        while (sent < n && lines.end[sent] <= written)
          sent_ns[sent++] = t;
        progress = true;
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t got = ::recv(fd, buf, sizeof buf, 0);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        r.error = "connection closed by the node after ack " + std::to_string(r.acked) +
                  (got < 0 ? std::string(" (") + std::strerror(errno) + ")" : std::string(" (EOF)"));
        return;
      }
      if (got > 0) {
        in.append(buf, static_cast<size_t>(got));
        size_t start = 0, nl;
        while ((nl = in.find('\n', start)) != std::string::npos) {
          if (!on_server_line(in.substr(start, nl - start), sent_ns, sent, t0, r))
            return;
          start = nl + 1;
        }
        in.erase(0, start);
        progress = true;
      }
    }
    if (progress)
      last_progress = Clock::now();
    else if (rate_per_conn == 0 && seconds_between(last_progress, Clock::now()) > o.stall_timeout_s) {
      r.error = "no progress for " + std::to_string(o.stall_timeout_s) + " s at ack " + std::to_string(r.acked);
      return;
    }
  }
}

// ---- one engine run ---------------------------------------------------------------

struct RunResult {
  bool ok = false;
  std::string error;
  double seconds = 0;
  double events_per_s = 0;
  uint64_t events = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  double rss_mb = 0;
  double anon_mb = 0, file_mb = 0;  // current RSS split at the end of the load
  double cpu_user_s = 0, cpu_sys_s = 0;  // the node's CPU time during the load
  int64_t customers_live = 0;
  int64_t customers_known = 0;
  int64_t timers_pending = 0;
  int64_t commits = 0;  // LMDB group commits during the whole node life (start-up and deploy are a handful)
  uint64_t nacks = 0;
  int journeys = 0;
  double baseline_per_s = 0;
  unsigned members = 0;              // 0 = single node
  // cluster: lines whose customer the entry member owns vs. forwarded to another member
  uint64_t local_n = 0, forwarded_n = 0;
  double local_p50_ms = 0, local_p99_ms = 0, forwarded_p50_ms = 0, forwarded_p99_ms = 0;
};

double percentile_ms(const std::vector<uint32_t>& sorted, double q) {
  if (sorted.empty())
    return 0;
  size_t i = std::min(sorted.size() - 1, static_cast<size_t>(q * static_cast<double>(sorted.size())));
  return sorted[i] / 1000.0;
}

// Splits the acked lines' latencies by whether the entry member owns the line's customer
// (`owned`: partition -> owned by the entry member). Acks are cumulative, so
// latency_us[k] belongs to line k of its connection.
void split_latency(const Workload& w, const std::vector<ConnResult>& results, const std::vector<bool>& owned,
                   RunResult& res) {
  std::vector<uint32_t> local, forwarded;
  auto parts = static_cast<uint32_t>(owned.size());
  for (size_t c = 0; c < results.size(); ++c) {
    const auto& lat = results[c].latency_us;
    const auto& cust = w.per_conn[c].customer;
    for (size_t k = 0; k < lat.size() && k < cust.size(); ++k)
      (owned[waymark::cluster::partition_of("c" + std::to_string(cust[k]), parts)] ? local : forwarded).push_back(lat[k]);
  }
  std::sort(local.begin(), local.end());
  std::sort(forwarded.begin(), forwarded.end());
  res.local_n = local.size();
  res.forwarded_n = forwarded.size();
  res.local_p50_ms = percentile_ms(local, 0.50);
  res.local_p99_ms = percentile_ms(local, 0.99);
  res.forwarded_p50_ms = percentile_ms(forwarded, 0.50);
  res.forwarded_p99_ms = percentile_ms(forwarded, 0.99);
}

bool drive(const Options& o, const Workload& w, const NodeHandle& node, double rate, RunResult& res,
           const std::vector<bool>* owned = nullptr) {
  std::vector<int> fds;
  for (unsigned c = 0; c < o.connections; ++c) {
    int fd = connect_loopback(node.tcp_port);
    if (fd < 0) {
      res.error = "cannot connect to the TCP gateway on port " + std::to_string(node.tcp_port);
      for (int f : fds)
        ::close(f);
      return false;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    fds.push_back(fd);
  }
  std::vector<ConnResult> results(o.connections);
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (unsigned c = 0; c < o.connections; ++c)
    threads.emplace_back(run_connection, fds[c], std::cref(w.per_conn[c]), std::cref(o), rate / o.connections, t0,
                         std::ref(results[c]));
  for (auto& t : threads)
    t.join();
  for (int f : fds)
    ::close(f);
  Clock::time_point end = t0;
  std::vector<uint32_t> lat;
  lat.reserve(w.total);
  for (auto& r : results) {
    if (!r.error.empty()) {
      res.error = r.error;
      return false;
    }
    end = std::max(end, r.last_ack);
    res.nacks += r.nacks;
    if (r.nacks && res.error.empty())
      res.error = "first nack: " + r.first_nack;
    lat.insert(lat.end(), r.latency_us.begin(), r.latency_us.end());
  }
  std::sort(lat.begin(), lat.end());
  res.seconds = seconds_between(t0, end);
  res.events = w.total;
  res.events_per_s = static_cast<double>(w.total) / res.seconds;
  res.p50_ms = percentile_ms(lat, 0.50);
  res.p99_ms = percentile_ms(lat, 0.99);
  res.p999_ms = percentile_ms(lat, 0.999);
  if (owned)
    split_latency(w, results, *owned, res);
  return res.nacks == 0;
}

void read_node_stats(const NodeHandle& node, RunResult& res) {
  if (node.pid > 0) {
    res.rss_mb = peak_rss_mb(node.pid);
    res.anon_mb = status_mb(node.pid, "RssAnon");
    res.file_mb = status_mb(node.pid, "RssFile");
  }
  auto r = http(node.http_port, "GET", "/api/stats");
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    res.customers_live = int_field(v.get_object(), "customers_live");
    res.customers_known = int_field(v.get_object(), "customers_known");
    res.timers_pending = int_field(v.get_object(), "timers_pending");
    res.commits = int_field(v.get_object(), "commits");
  }
}

// ---- bare-loop baseline: parse + hash map + LMDB batches of 8192, no actors -------------

struct BaseState {
  uint32_t events = 0;
  std::string last_event;
  json::object traits;
};

bool lmdb_ok(int rc, const char* what, std::string& error) {
  if (rc == 0)
    return true;
  error = std::string(what) + ": " + mdb_strerror(rc);
  return false;
}

// Commits the dirty customers' states (as JSON) and the batch's dedup keys in one txn.
bool commit_batch(MDB_env* env, MDB_dbi states, MDB_dbi dedup, std::unordered_map<std::string, BaseState>& map,
                  std::unordered_set<std::string>& dirty, std::vector<std::string>& ids, std::string& error) {
  MDB_txn* txn = nullptr;
  if (!lmdb_ok(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin", error))
    return false;
  for (const auto& c : dirty) {
    const BaseState& s = map[c];
    std::string value = json::serialize(json::object{{"events", s.events}, {"last", s.last_event}, {"traits", s.traits}});
    MDB_val k{c.size(), const_cast<char*>(c.data())}, v{value.size(), value.data()};
    if (!lmdb_ok(mdb_put(txn, states, &k, &v, 0), "mdb_put", error))
      return mdb_txn_abort(txn), false;
  }
  uint64_t stamp = 1;
  for (const auto& id : ids) {
    MDB_val k{id.size(), const_cast<char*>(id.data())}, v{sizeof stamp, &stamp};
    if (!lmdb_ok(mdb_put(txn, dedup, &k, &v, 0), "mdb_put", error))
      return mdb_txn_abort(txn), false;
  }
  dirty.clear();
  ids.clear();
  return lmdb_ok(mdb_txn_commit(txn), "mdb_txn_commit", error);
}

void apply_event(const json::object& e, std::unordered_map<std::string, BaseState>& map,
                 std::unordered_set<std::string>& dirty, std::vector<std::string>& ids) {
  const json::value* user = e.if_contains("userId");
  if (!user || !user->is_string())
    user = e.if_contains("anonymousId");
  if (!user || !user->is_string())
    return;
  std::string key(user->get_string());
  BaseState& s = map[key];
  ++s.events;
  if (auto* ev = e.if_contains("event"); ev && ev->is_string())
    s.last_event.assign(ev->get_string().begin(), ev->get_string().end());
  if (auto* t = e.if_contains("traits"); t && t->is_object())
    for (const auto& kv : t->get_object())
      s.traits[kv.key()] = kv.value();
  if (auto* m = e.if_contains("messageId"); m && m->is_string())
    ids.emplace_back(m->get_string());
  dirty.insert(std::move(key));
}

// Returns events/s, or 0 with `error` set.
double run_baseline(const Workload& w, const std::string& tmp_dir, std::string& error) {
  std::string dir = make_temp_dir(tmp_dir, "waymark-baseline-", error);
  if (dir.empty())
    return 0;
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  MDB_dbi states = 0, dedup = 0;
  double rate = 0;
  bool ok = lmdb_ok(mdb_env_create(&env), "mdb_env_create", error) &&
            lmdb_ok(mdb_env_set_maxdbs(env, 4), "mdb_env_set_maxdbs", error) &&
            lmdb_ok(mdb_env_set_mapsize(env, size_t{4} << 30), "mdb_env_set_mapsize", error) &&
            lmdb_ok(mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0644), "mdb_env_open", error) &&
            lmdb_ok(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin", error) &&
            lmdb_ok(mdb_dbi_open(txn, "states", MDB_CREATE, &states), "mdb_dbi_open", error) &&
            lmdb_ok(mdb_dbi_open(txn, "dedup", MDB_CREATE, &dedup), "mdb_dbi_open", error) &&
            lmdb_ok(mdb_txn_commit(txn), "mdb_txn_commit", error);
  if (ok) {
    std::unordered_map<std::string, BaseState> map;
    std::unordered_set<std::string> dirty;
    std::vector<std::string> ids;
    std::vector<unsigned char> arena(64 * 1024);
    auto t0 = Clock::now();
    size_t in_batch = 0;
    // Round-robin over the connections' lines, roughly the order the node sees them.
    std::vector<size_t> next(w.per_conn.size(), 0);
    for (uint64_t done = 0; ok && done < w.total;) {
      for (size_t c = 0; ok && c < w.per_conn.size(); ++c) {
        const Lines& l = w.per_conn[c];
        if (next[c] >= l.count())
          continue;
        size_t begin = next[c] ? l.end[next[c] - 1] : 0, end = l.end[next[c]] - 1;
        ++next[c];
        ++done;
        json::monotonic_resource mr(arena.data(), arena.size());
        boost::system::error_code ec;
        json::value v = json::parse(json::string_view(l.bytes.data() + begin, end - begin), ec, &mr);
        if (!ec && v.is_object())
          apply_event(v.get_object(), map, dirty, ids);
        if (++in_batch == 8192) {
          ok = commit_batch(env, states, dedup, map, dirty, ids, error);
          in_batch = 0;
        }
      }
    }
    if (ok && in_batch)
      ok = commit_batch(env, states, dedup, map, dirty, ids, error);
    if (ok)
      rate = static_cast<double>(w.total) / seconds_between(t0, Clock::now());
  }
  if (env)
    mdb_env_close(env);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return ok ? rate : 0;
}

// ---- a whole run: node, deploy, load, stats, baseline --------------------------------

void stop_nodes(std::vector<NodeHandle>& nodes) {
  for (auto& n : nodes)
    stop_node(n);
}

// --entry most-forwarded: moves to the front the member that owns the fewest of the
// workload's lines (for one hot customer: a member that forwards all of them).
bool pick_entry(const Workload& w, std::vector<NodeHandle>& nodes, std::string& error) {
  std::vector<std::vector<bool>> owned(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!entry_partitions(nodes[i].http_port, owned[i], error))
      return false;
  std::vector<uint64_t> lines(nodes.size(), 0);
  for (const auto& l : w.per_conn)
    for (uint32_t c : l.customer) {
      uint32_t p = waymark::cluster::partition_of("c" + std::to_string(c), static_cast<uint32_t>(owned[0].size()));
      for (size_t i = 0; i < nodes.size(); ++i)
        lines[i] += owned[i][p];
    }
  auto best = std::min_element(lines.begin(), lines.end()) - lines.begin();
  std::swap(nodes[0], nodes[static_cast<size_t>(best)]);
  return true;
}

// The tail of every spawned member's log, and how it exited if it did.
std::string node_logs(std::vector<NodeHandle>& nodes) {
  std::string out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    NodeHandle& node = nodes[i];
    if (!node.owned)
      continue;
    std::string log = read_text(node.root + "/node.log"), who = nodes.size() > 1 ? " " + std::to_string(i + 1) : "";
    int status = 0;
    if (node.pid > 0 && ::waitpid(node.pid, &status, WNOHANG) == node.pid) {
      out += "\nnode" + who + " exited: " +
             (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                  : "status " + std::to_string(WEXITSTATUS(status)));
      node.pid = -1;
    }
    out += "\nnode" + who + " log (tail):\n" + (log.size() > 4000 ? log.substr(log.size() - 4000) : log);
  }
  return out;
}

std::pair<double, double> cpu_sum(const std::vector<NodeHandle>& nodes) {
  std::pair<double, double> sum{0, 0};
  for (auto& n : nodes)
    if (n.pid > 0) {
      auto c = cpu_seconds(n.pid);
      sum.first += c.first;
      sum.second += c.second;
    }
  return sum;
}

// One run against a single node (`members` = 0) or a spawned cluster of `members`,
// every connection to the first member; `split_by_owner`: entry-owned and forwarded
// customers on separate connections (ConnOf).
RunResult one_run(const Options& o, unsigned index, double rate, bool with_baseline, unsigned members = 0,
                  bool split_by_owner = false) {
  RunResult res;
  res.members = members;
  std::string tag = "r" + std::to_string(index) + "-" + std::to_string(::getpid()) + "-";
  std::vector<NodeHandle> nodes;
  if (members > 0) {
    if (!spawn_cluster(o, members, nodes, res.error)) {
      stop_nodes(nodes);
      return res;
    }
  } else if (o.spawn) {
    nodes.emplace_back();
    if (!spawn_node(o, nodes.back(), res.error)) {
      stop_nodes(nodes);
      return res;
    }
  } else {
    nodes.emplace_back();
    nodes.back().tcp_port = o.tcp_port;
    nodes.back().http_port = o.http_port;
    if (auto ready = read_ready(o.data_dir))
      nodes.back().pid = static_cast<pid_t>(int_field(*ready, "pid"));
  }
  if (members > 0 && o.entry == "most-forwarded" && !pick_entry(make_workload(o, tag), nodes, res.error)) {
    stop_nodes(nodes);
    return res;
  }
  NodeHandle& node = nodes.front();
  std::vector<bool> owned;
  if (members > 0 && !entry_partitions(node.http_port, owned, res.error)) {
    stop_nodes(nodes);
    return res;
  }
  Workload w = make_workload(o, tag, split_by_owner && members > 0 ? &owned : nullptr);
  if (o.deploy && (res.journeys = deploy_mix(o, node.http_port, res.error)) < 0) {
    stop_nodes(nodes);
    return res;
  }
  pid_t hook = -1;
  if (!o.perf_hook.empty() && node.pid > 0) {
    hook = ::fork();
    if (hook == 0) {
      ::setpgid(0, 0);  // its own group: SIGINT reaches perf, not just the shell
      ::setenv("WAYMARK_PID", std::to_string(node.pid).c_str(), 1);
      ::execl("/bin/sh", "sh", "-c", o.perf_hook.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (hook > 0)
      ::setpgid(hook, hook);
  }
  auto cpu0 = cpu_sum(nodes);
  res.ok = drive(o, w, node, rate, res, members > 0 ? &owned : nullptr);
  auto cpu1 = cpu_sum(nodes);
  res.cpu_user_s = cpu1.first - cpu0.first;
  res.cpu_sys_s = cpu1.second - cpu0.second;
  if (hook > 0) {
    ::kill(-hook, SIGINT);
    ::waitpid(hook, nullptr, 0);
  }
  read_node_stats(node, res);  // /api/stats answers for the whole cluster
  if (members > 0) {           // RSS: the sum over the members
    res.rss_mb = res.anon_mb = res.file_mb = 0;
    for (auto& n : nodes)
      if (n.pid > 0) {
        res.rss_mb += peak_rss_mb(n.pid);
        res.anon_mb += status_mb(n.pid, "RssAnon");
        res.file_mb += status_mb(n.pid, "RssFile");
      }
  }
  if (!res.ok)
    res.error += node_logs(nodes);
  stop_nodes(nodes);  // before the baseline, so it does not compete for the cores
  if (res.ok && with_baseline) {
    res.baseline_per_s = run_baseline(w, o.tmp_dir, res.error);
    res.ok = res.baseline_per_s > 0;
  }
  return res;
}

void print_run(const char* label, unsigned i, const RunResult& r) {
  std::printf("%s %u: %s events/s (%.2f s)  ack p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  "
              "peak RSS %.0f MB (now anon %.0f + file %.0f)  "
              "live actors %lld  known %lld  timers %lld  nacks %llu",
              label, i, fmt_int(r.events_per_s).c_str(), r.seconds, r.p50_ms, r.p99_ms, r.p999_ms, r.rss_mb,
              r.anon_mb, r.file_mb, static_cast<long long>(r.customers_live), static_cast<long long>(r.customers_known),
              static_cast<long long>(r.timers_pending), static_cast<unsigned long long>(r.nacks));
  if (r.commits > 0)
    std::printf("  commits %lld (%.0f events/commit)", static_cast<long long>(r.commits),
                static_cast<double>(r.events) / static_cast<double>(r.commits));
  if (r.cpu_user_s + r.cpu_sys_s > 0)
    std::printf("  node CPU %.1f µs/event (%.0f %% sys)",
                (r.cpu_user_s + r.cpu_sys_s) * 1e6 / static_cast<double>(r.events),
                100 * r.cpu_sys_s / (r.cpu_user_s + r.cpu_sys_s));
  if (r.baseline_per_s > 0)
    std::printf("  | bare loop %s events/s, ratio %.3f", fmt_int(r.baseline_per_s).c_str(),
                r.events_per_s / r.baseline_per_s);
  if (r.members > 0)
    std::printf("  | %u members: entry-owned customers %s lines ack p50 %.2f p99 %.2f ms, forwarded %s lines ack p50 %.2f p99 "
                "%.2f ms",
                r.members, fmt_int(static_cast<double>(r.local_n)).c_str(), r.local_p50_ms, r.local_p99_ms,
                fmt_int(static_cast<double>(r.forwarded_n)).c_str(), r.forwarded_p50_ms, r.forwarded_p99_ms);
  std::printf("\n");
  std::fflush(stdout);
}

std::string range(const std::vector<double>& v, bool integer, int decimals = 2) {
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  auto f = [&](double x) {
    if (integer)
      return fmt_int(x);
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", decimals, x);
    return std::string(b);
  };
  return f(median(v)) + " (" + f(*lo) + "–" + f(*hi) + ")";
}

const char* met(bool ok) { return ok ? "MET" : "NOT MET"; }

void print_targets(const Options& o, double eps, double rss_mb, int64_t live, const std::optional<RunResult>& paced) {
  std::printf("\ntargets (issue #5, this machine):\n");
  std::printf("  >= 250,000 events/s over TCP, acked after commit, 100k customers, 3 journeys: %s events/s -> %s%s\n",
              fmt_int(eps).c_str(), met(eps >= kTargetEventsPerS),
              o.customers == 100000 ? "" : "  (run used a different customer count)");
  if (o.customers >= 1000000)
    std::printf("  stretch >= 350,000 events/s at 1M customers: %s\n", met(eps >= kStretchEventsPerS));
  else
    std::printf("  stretch >= 350,000 events/s at 1M customers: not measured (--customers 1000000)\n");
  if (paced)
    std::printf("  p99 ack <= 10 ms at half the max rate (%s events/s offered): p99 %.2f ms -> %s\n",
                fmt_int(paced->events_per_s).c_str(), paced->p99_ms, met(paced->ok && paced->p99_ms <= kTargetP99Ms));
  else
    std::printf("  p99 ack <= 10 ms at half the max rate: not measured (--paced-half)\n");
  if (live >= 1000000)
    std::printf("  1M live customers in <= 1.5 GB RSS: %.0f MB -> %s\n", rss_mb, met(rss_mb <= kTargetRss1MLiveMb));
  else
    std::printf("  1M live customers in <= 1.5 GB RSS: not measured (%lld live, peak RSS %.0f MB%s)\n",
                static_cast<long long>(live), rss_mb,
                live > 0 ? (", " + fmt_int(rss_mb * 1024 * 1024 / static_cast<double>(live)) + " B per live actor incl. "
                                                                                                    "everything")
                               .c_str()
                         : "");
  std::printf("  10M known customers in <= 4 GB with passivation: not measured here "
              "(--set limits.live_customers_max=N, --customers > N)\n");
  std::printf("  1M pending timers fire at >= 200,000/s, p99 lateness <= 100 ms: see waymark-load --timers\n");
}

// ---- timers mode: N customers enter a journey with a wait, then one clock advance ------------

// Entry on "Go", a 1 h wait (one durable timer per customer), then an update step.
const char* kTimerJourney = R"({"id":"timer-bench","name":"Timer bench","owner":"bench",
 "entry":{"event":"Go"},"reentry":{"mode":"after_exit"},"start":"wait",
 "steps":{"wait":{"type":"wait","duration":"1h","next":"mark"},
          "mark":{"type":"update","set":{"traits.woke":"yes"},"next":"done"},
          "done":{"type":"exit"}}})";

// One "Go" per customer, spread over the connections.
Workload make_timer_workload(const Options& o, const std::string& run_tag) {
  Workload w;
  w.per_conn.resize(o.connections);
  for (uint64_t c = 0; c < o.customers; ++c) {
    Lines& l = w.per_conn[c % o.connections];
    l.bytes += "{\"userId\":\"t" + std::to_string(c) + "\",\"messageId\":\"" + run_tag + std::to_string(c) +
               "\",\"type\":\"track\",\"event\":\"Go\"}\n";
    l.end.push_back(l.bytes.size());
  }
  w.total = o.customers;
  return w;
}

struct TimerResult {
  bool ok = false;
  std::string error;
  std::string note;                           // a non-200 answer of the advance (timers may still all fire)
  double enter_per_s = 0;                     // Go events/s to the last ack
  int64_t pending = 0;                        // timers_pending before the advance
  double fire_s = 0;                          // advance -> timers_fired covers all
  double commit_s = 0;                        // advance -> POST /api/clock returned (all fired timers committed)
  double fired_per_s = 0;                     // pending / fire_s
  double p50_ms = 0, p99_ms = 0, max_ms = 0;  // when 50 % / 99 % / all had fired, after the advance
  double rss_mb = 0;
  double anon_mb = 0, file_mb = 0;
  int64_t live = 0;
};

int64_t stats_field(uint16_t http_port, const char* key) {
  auto r = http(http_port, "GET", "/api/stats");
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  return !ec && v.is_object() ? int_field(v.get_object(), key) : -1;
}

// Time (ms after the advance) at which `fired` first reached `need`, from the samples.
double reached_ms(const std::vector<std::pair<double, int64_t>>& samples, double need) {
  for (const auto& [ms, fired] : samples)
    if (static_cast<double>(fired) >= need)
      return ms;
  return samples.empty() ? 0 : samples.back().first;
}

TimerResult timer_run(const Options& o, unsigned index) {
  TimerResult res;
  std::string tag = "t" + std::to_string(index) + "-" + std::to_string(::getpid()) + "-";
  Workload w = make_timer_workload(o, tag);
  std::vector<NodeHandle> nodes;  // one node, or --cluster N members (the load, stats and clock go to member 1)
  bool up = o.cluster > 0 ? spawn_cluster(o, o.cluster, nodes, res.error)
                          : spawn_node(o, nodes.emplace_back(), res.error);
  if (!up || !deploy_one(nodes.front().http_port, "journeys", kTimerJourney, res.error)) {
    stop_nodes(nodes);
    return res;
  }
  NodeHandle& node = nodes.front();
  RunResult enter;
  if (!drive(o, w, node, 0, enter)) {
    res.error = "entering: " + enter.error;
    stop_nodes(nodes);
    return res;
  }
  res.enter_per_s = enter.events_per_s;
  int64_t fired0 = stats_field(node.http_port, "timers_fired");
  res.pending = stats_field(node.http_port, "timers_pending");
  if (res.pending < static_cast<int64_t>(o.customers)) {
    res.error = "only " + std::to_string(res.pending) + " timers pending after " + std::to_string(o.customers) +
                " entries";
    stop_nodes(nodes);
    return res;
  }
  std::printf("  entered: %s Go events at %s events/s, %s timers pending\n",
              fmt_int(static_cast<double>(o.customers)).c_str(), fmt_int(res.enter_per_s).c_str(),
              fmt_int(static_cast<double>(res.pending)).c_str());
  std::fflush(stdout);
  // Sample timers_fired while the advance runs (every ~5 ms plus the request's own time),
  // until all fired or nothing moved for the stall timeout.
  std::vector<std::pair<double, int64_t>> samples;
  auto t0 = Clock::now();
  std::thread poller([&] {
    auto last_move = Clock::now();
    int64_t last = -1;
    while (seconds_between(last_move, Clock::now()) < o.stall_timeout_s) {
      int64_t f = stats_field(node.http_port, "timers_fired") - fired0;
      samples.emplace_back(seconds_between(t0, Clock::now()) * 1000, f);
      if (f >= res.pending)
        break;
      if (f != last)
        last = f, last_move = Clock::now();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // sampling period, not synchronisation
    }
  });
  auto r = http(node.http_port, "POST", "/api/clock", R"({"advance":"2h"})", 600);
  res.commit_s = seconds_between(t0, Clock::now());
  if (r.status != 200)
    res.note = "POST /api/clock -> " + std::to_string(r.status) + " " + r.body + " after " +
               std::to_string(res.commit_s) + " s";
  poller.join();
  int64_t fired = stats_field(node.http_port, "timers_fired") - fired0;
  int64_t left = stats_field(node.http_port, "timers_pending");
  for (int i = 0; i < 600 && left > 0 && r.status != 200; ++i) {  // the advance gave up: wait for the commits
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a running node's stats
    left = stats_field(node.http_port, "timers_pending");
  }
  if (r.status != 200)
    res.commit_s = seconds_between(t0, Clock::now());
  for (auto& n : nodes) {  // summed over the members in a cluster
    res.rss_mb += peak_rss_mb(n.pid);
    res.anon_mb += status_mb(n.pid, "RssAnon");
    res.file_mb += status_mb(n.pid, "RssFile");
  }
  res.live = stats_field(node.http_port, "customers_live");
  stop_nodes(nodes);
  if (fired < res.pending || left != 0) {
    res.error = std::to_string(fired) + " of " + std::to_string(res.pending) + " timers fired, " +
                std::to_string(left) + " still pending after the advance returned" +
                (res.note.empty() ? "" : " (" + res.note + ")");
    return res;
  }
  auto n = static_cast<double>(res.pending);
  if (samples.empty() || samples.back().second < res.pending)  // the advance returned before the last sample
    samples.emplace_back(res.commit_s * 1000, res.pending);
  res.max_ms = reached_ms(samples, n);
  res.p50_ms = reached_ms(samples, 0.50 * n);
  res.p99_ms = reached_ms(samples, 0.99 * n);
  res.fire_s = res.max_ms / 1000;
  res.fired_per_s = res.fire_s > 0 ? n / res.fire_s : 0;
  res.ok = true;
  return res;
}

int run_timers(const Options& o) {
  std::printf("waymark-load --timers: %s customers each enter a 1 h wait over %u connections, then one "
              "POST /api/clock {\"advance\":\"2h\"} on %s\n",
              fmt_int(static_cast<double>(o.customers)).c_str(), o.connections,
              o.cluster > 0 ? (std::to_string(o.cluster) + " spawned manual-clock members (load, clock and the "
                               "cluster-wide /api/stats through member 1; RSS summed)").c_str()
                            : "a spawned manual-clock node");
  std::fflush(stdout);
  std::vector<double> rate, commit_rate, p50, p99, rss;
  for (unsigned i = 1; i <= o.runs; ++i) {
    TimerResult r = timer_run(o, i);
    if (!r.ok) {
      std::fprintf(stderr, "timers run %u failed: %s\n", i, r.error.c_str());
      return 1;
    }
    std::printf("run %u: entered at %s events/s; %s timers fired in %.2f s = %s timers/s (all committed after %.2f s "
                "= %s/s); fired by +%.0f ms (50 %%), +%.0f ms (99 %%), +%.0f ms (all); peak RSS %.0f MB (now anon %.0f + "
                "file %.0f), live %lld\n",
                i, fmt_int(r.enter_per_s).c_str(), fmt_int(static_cast<double>(r.pending)).c_str(), r.fire_s,
                fmt_int(r.fired_per_s).c_str(), r.commit_s,
                fmt_int(static_cast<double>(r.pending) / r.commit_s).c_str(), r.p50_ms, r.p99_ms, r.max_ms, r.rss_mb,
                r.anon_mb, r.file_mb, static_cast<long long>(r.live));
    if (!r.note.empty())
      std::printf("  note: %s\n", r.note.c_str());
    std::fflush(stdout);
    rate.push_back(r.fired_per_s);
    commit_rate.push_back(static_cast<double>(r.pending) / r.commit_s);
    p50.push_back(r.p50_ms);
    p99.push_back(r.p99_ms);
    rss.push_back(r.rss_mb);
  }
  std::printf("\nsummary over %zu run(s), median (min–max):\n", rate.size());
  std::printf("  fire rate       %s timers/s\n", range(rate, true).c_str());
  std::printf("  committed rate  %s timers/s (advance -> POST returned)\n", range(commit_rate, true).c_str());
  std::printf("  fired by (after the advance; all due at once) 50 %% %s ms, 99 %% %s ms\n", range(p50, true).c_str(),
              range(p99, true).c_str());
  std::printf("  peak RSS        %s MB\n", range(rss, true).c_str());
  double m = median(rate), l = median(p99);
  std::printf("\ntarget (issue #5): 1M pending timers fire at >= 200,000/s with p99 lateness <= 100 ms:\n"
              "  %s timers: %s timers/s -> %s; p99 lateness %.0f ms -> %s%s\n",
              fmt_int(static_cast<double>(o.customers)).c_str(), fmt_int(m).c_str(), met(m >= kTargetTimersPerS), l,
              met(l <= kTargetTimerLatenessMs),
              o.customers >= 1000000 ? "" : "  (fewer than 1M timers: --customers 1000000)");
  return 0;
}

// The runs of one setup (single node, or a cluster of `members`).
struct Series {
  unsigned members = 0;
  std::vector<double> eps, p50, p99, p999, rss, base, ratio, cpu_us;
  std::vector<double> local_p50, local_p99, fwd_p50, fwd_p99;  // cluster runs split by owner (--rate)
  int64_t live = 0;
  int journeys = 0;
  std::optional<RunResult> paced;

  std::string name() const { return members ? std::to_string(members) + " members" : "single node"; }
  void add(const RunResult& r) {
    eps.push_back(r.events_per_s);
    p50.push_back(r.p50_ms);
    p99.push_back(r.p99_ms);
    p999.push_back(r.p999_ms);
    rss.push_back(r.rss_mb);
    if (r.cpu_user_s + r.cpu_sys_s > 0)
      cpu_us.push_back((r.cpu_user_s + r.cpu_sys_s) * 1e6 / static_cast<double>(r.events));
    live = std::max(live, r.customers_live);
    journeys = r.journeys;
    if (r.local_n && r.forwarded_n) {
      local_p50.push_back(r.local_p50_ms);
      local_p99.push_back(r.local_p99_ms);
      fwd_p50.push_back(r.forwarded_p50_ms);
      fwd_p99.push_back(r.forwarded_p99_ms);
    }
    if (r.baseline_per_s > 0) {
      base.push_back(r.baseline_per_s);
      ratio.push_back(r.events_per_s / r.baseline_per_s);
    }
  }
};

void print_summary(const Options& o, const Series& s) {
  std::printf("\n%s: summary over %zu run(s), median (min–max), %d journeys deployed:\n", s.name().c_str(),
              s.eps.size(), s.journeys);
  std::printf("  engine      %s events/s%s\n", range(s.eps, true).c_str(),
              s.members ? " (every connection to member 1)" : "");
  std::printf("  ack latency p50 %s ms, p99 %s ms, p99.9 %s ms%s\n", range(s.p50, false).c_str(),
              range(s.p99, false).c_str(), range(s.p999, false).c_str(),
              o.rate > 0 ? "" : " (at max rate: a full window queued)");
  std::printf("  peak RSS    %s MB%s\n", range(s.rss, true).c_str(), s.members ? " (sum over the members)" : "");
  if (!s.cpu_us.empty())
    std::printf("  %s CPU    %s µs per event (user + sys%s; 2 cores give 2 s of CPU per s)\n",
                s.members ? "members'" : "node", range(s.cpu_us, false, 1).c_str(),
                s.members ? ", summed over the members" : "");
  if (o.rate > 0 && !s.local_p50.empty())
    std::printf("  entry-owned customers' ack p50 %s ms, p99 %s ms; forwarded p50 %s ms, p99 %s ms (separate "
                "connections)\n",
                range(s.local_p50, false).c_str(), range(s.local_p99, false).c_str(), range(s.fwd_p50, false).c_str(),
                range(s.fwd_p99, false).c_str());
  if (!s.base.empty()) {
    std::printf("  bare loop   %s events/s\n", range(s.base, true).c_str());
    std::printf("  ratio engine/bare loop %s\n", range(s.ratio, false, 3).c_str());
  }
  if (const auto& p = s.paced) {
    std::printf("  paced at %s events/s: ack p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n", fmt_int(p->events_per_s).c_str(),
                p->p50_ms, p->p99_ms, p->p999_ms);
    if (s.members)
      std::printf("    (entry-owned and forwarded customers on separate connections, acks being cumulative per "
                  "connection)\n    entry-owned customers (%s lines): p50 %.2f ms, p99 %.2f ms; forwarded (%s lines): p50 %.2f ms, "
                  "p99 %.2f ms -> the forward hop adds p50 %+.2f ms, p99 %+.2f ms\n",
                  fmt_int(static_cast<double>(p->local_n)).c_str(), p->local_p50_ms, p->local_p99_ms,
                  fmt_int(static_cast<double>(p->forwarded_n)).c_str(), p->forwarded_p50_ms, p->forwarded_p99_ms,
                  p->forwarded_p50_ms - p->local_p50_ms, p->forwarded_p99_ms - p->local_p99_ms);
  }
}

int run_all(const Options& o) {
  std::vector<Series> series;
  if (o.cluster == 0 || o.compare_single)
    series.emplace_back();
  if (o.cluster > 0)
    series.emplace_back().members = o.cluster;
  std::string setup = o.cluster == 0      ? ""
                      : o.compare_single ? "single node and " + std::to_string(o.cluster) + " members (runs alternate), "
                                         : std::to_string(o.cluster) + " members, every connection to member 1, ";
  std::printf("waymark-load: %s events, %s customers%s, %u connections, window %s/connection, %s, %snode %s\n",
              fmt_int(static_cast<double>(o.events)).c_str(), fmt_int(static_cast<double>(o.customers)).c_str(),
              o.zipf > 0 ? (" drawn from Zipf(s=" + std::to_string(o.zipf).substr(0, 4) + ")").c_str() : "",
              o.connections, fmt_int(static_cast<double>(o.window)).c_str(),
              o.rate > 0 ? ("paced at " + fmt_int(o.rate) + " events/s").c_str() : "max rate", setup.c_str(),
              o.spawn ? ("spawned (" + o.waymark_bin + ", manual clock, fresh data dir per run)").c_str()
                      : ("127.0.0.1:" + std::to_string(o.tcp_port)).c_str());
  std::fflush(stdout);
  for (unsigned i = 1; i <= o.runs; ++i)
    for (auto& s : series) {
      // paced (--rate): entry-owned and forwarded customers on separate connections, as in --paced-half
      RunResult r = one_run(o, i, o.rate, o.baseline && s.members == 0, s.members, o.rate > 0);
      if (!r.ok) {
        std::fprintf(stderr, "%s run %u failed: %s\n", s.name().c_str(), i, r.error.c_str());
        return 1;
      }
      print_run(s.members ? "cluster run" : "run", i, r);
      s.add(r);
    }
  if (o.paced_half && o.rate == 0)
    for (auto& s : series) {
      double half = median(s.eps) / 2;
      s.paced = one_run(o, o.runs + 1, half, false, s.members, true);
      if (!s.paced->ok) {
        std::fprintf(stderr, "%s paced run failed: %s\n", s.name().c_str(), s.paced->error.c_str());
        return 1;
      }
      s.paced->events_per_s = half;  // report the offered rate
      print_run(s.members ? "cluster paced run at half the median max rate, offered"
                          : "paced run at half the median max rate, offered",
                1, *s.paced);
    }
  for (auto& s : series)
    print_summary(o, s);
  if (series.size() == 2) {
    std::vector<double> ratios;
    for (size_t i = 0; i < series[0].eps.size(); ++i)
      ratios.push_back(series[1].eps[i] / series[0].eps[i]);
    std::printf("\n%s / single node events/s, run by run (runs alternate): %s (goal >= 0.6 with about %.0f %% of "
                "events forwarded)\n",
                series[1].name().c_str(), range(ratios, false, 3).c_str(), 100.0 * (o.cluster - 1) / o.cluster);
  }
  if (series.front().members == 0)
    print_targets(o, o.rate > 0 ? 0 : median(series.front().eps), median(series.front().rss), series.front().live,
                  series.front().paced);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"waymark-load: drive a Waymark node over the TCP gateway and compare with a bare loop"};
  app.add_flag("--spawn", o.spawn, "start a node (fresh temp data dir, manual clock) per run and stop it after");
  app.add_option("--waymark", o.waymark_bin, "the waymark binary for --spawn");
  app.add_option("--journeys", o.journeys_dir, "directory with *.template.json and *.journey.json to deploy");
  app.add_option("--tcp-port", o.tcp_port, "TCP gateway port of a running node (without --spawn)");
  app.add_option("--http-port", o.http_port, "HTTP API port of a running node (without --spawn)");
  app.add_option("--data-dir", o.data_dir, "data dir of a running node (its ready.json gives the pid for RSS)");
  app.add_option("--customers,-n", o.customers, "distinct customers")->check(CLI::PositiveNumber);
  app.add_option("--events,-m", o.events, "events in total")->check(CLI::PositiveNumber);
  app.add_option("--connections,-c", o.connections, "TCP connections")->check(CLI::Range(1, 256));
  app.add_option("--window", o.window, "unacked lines per connection (the node stops reading at 65,536)")
      ->check(CLI::Range(1, 65536));
  app.add_option("--zipf", o.zipf, "draw customers from Zipf(s) over --customers (e.g. 1.1) instead of round-robin")
    ->check(CLI::Range(0.0, 10.0));
  app.add_option("--rate", o.rate, "paced: events/s over all connections (0 = max)");
  app.add_option("--runs", o.runs, "runs; the summary gives median (min–max)")->check(CLI::Range(1, 100));
  app.add_flag("--paced-half", o.paced_half, "after the runs, one paced run at half the median max rate");
  bool no_baseline = false, no_deploy = false;
  app.add_flag("--no-baseline", no_baseline, "skip the bare-loop baseline");
  app.add_flag("--no-deploy", no_deploy, "do not deploy the journey mix (already deployed)");
  app.add_option("--perf-hook", o.perf_hook, "shell command run during the load with $WAYMARK_PID (SIGINT at the end)");
  app.add_option("--tmp-dir", o.tmp_dir,
                 "where the spawned node's data dir and the bare loop's LMDB go (e.g. /dev/shm: no disk)");
  app.add_option("--stall-timeout", o.stall_timeout_s, "fail when no progress for this many seconds");
  app.add_flag("--timers", o.timers,
               "timers mode (needs --spawn): --customers enter a 1 h wait, then one clock advance; fire rate");
  app.add_option("--cluster", o.cluster,
                 "spawn this many members on loopback (needs --spawn) and connect every client to the first")
      ->check(CLI::Range(2, 9));
  app.add_option("--entry", o.entry,
                 "with --cluster: the member every connection goes to: first (member 1), or most-forwarded (the "
                 "member owning the fewest of the workload's lines, e.g. not the hot customer's owner)")
      ->check(CLI::IsMember({"first", "most-forwarded"}));
  app.add_flag("--compare-single", o.compare_single,
               "with --cluster: alternate single-node and cluster runs and print both, with their ratio");
  app.add_option("--set", o.node_sets,
                 "section.key=value in the spawned node's config, e.g. limits.live_customers_max=100000 (repeatable)");
  CLI11_PARSE(app, argc, argv);
  o.baseline = !no_baseline;
  o.deploy = !no_deploy;
  if (o.customers > o.events && !o.timers)  // timers mode sends one event per customer
    o.customers = o.events;
  ::signal(SIGPIPE, SIG_IGN);
  if (o.timers && !o.spawn) {
    std::fprintf(stderr, "--timers needs --spawn (it advances a manual clock)\n");
    return 2;
  }
  if (o.cluster > 0 && !o.spawn) {
    std::fprintf(stderr, "--cluster needs --spawn (it starts the members on loopback)\n");
    return 2;
  }
  if (o.compare_single && o.cluster == 0) {
    std::fprintf(stderr, "--compare-single needs --cluster N\n");
    return 2;
  }
  return o.timers ? run_timers(o) : run_all(o);
}
