// Delivery throughput: deliveries per second from a full outbox to a local
// HTTP receiver (webhook provider) and a local SMTP server (smtp provider),
// through a real `waymark serve` process.
//
// Each run: N customers each produce one delivery while the receiver refuses
// them (webhook: 503 + Retry-After 1 h; SMTP: 451 to MAIL FROM with a 1 h
// backoff), so N entries sit in the outbox after one attempt each; the node
// is stopped, the receiver switched to accepting, the node restarted, and the
// clock runs from "ready" until the receiver has all N. This isolates the
// delivery path (outbox scan, gateway pacing, provider, status commits)
// from ingestion. Prints every run and the median.
//
// Usage: delivery_bench [--deliveries N] [--runs R] [--in-flight K]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/events.hpp"
#include "support/http_receiver.hpp"
#include "support/node.hpp"
#include "support/smtp_server.hpp"
#include "support/tcp_client.hpp"

namespace it = waymark::it;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kPingTemplate =
  R"({"id":"ping","channel":"push","title":"Hi {{traits.first_name|there}}","body":"Ping {{entry.properties.n}}"})";
constexpr const char* kPingJourney = R"({"id":"pings","name":"Pings","owner":"bench","entry":{"event":"Ping"},
  "start":"ping","steps":{"ping":{"type":"send","channel":"push","template":"ping","next":"done"},"done":{"type":"exit"}}})";
constexpr const char* kMailTemplate =
  R"({"id":"hello","channel":"email","subject":"Hello {{traits.first_name|there}}","body":"Welcome, {{traits.first_name|friend}}."})";
constexpr const char* kMailJourney = R"({"id":"hello","name":"Hello","owner":"bench","entry":{"event":"Ping"},
  "start":"hi","steps":{"hi":{"type":"send","channel":"email","template":"hello","next":"done"},"done":{"type":"exit"}}})";

struct Args {
  int deliveries = 2000;
  int runs = 5;
  int in_flight = 16;
};

bool ingest(it::Node& node, int n, const char* trait) {
  it::TcpClient c;
  if (!c.connect(node.tcp_port()))
    return false;
  for (int i = 0; i < n; ++i) {
    std::string u = "c" + std::to_string(i);
    json::object traits{{"first_name", "N" + std::to_string(i)}};
    traits[trait] = std::string(trait) == "email" ? u + "@bench.test" : "tok-" + u;
    if (!c.send_line(it::identify(u, traits)) || !c.send_line(it::track(u, "Ping", {{"n", "1"}})))
      return false;
  }
  return c.wait_ack(static_cast<uint64_t>(2 * n), 120000);
}

bool deploy(it::Node& node, const char* tpl, const char* journey) {
  return node.deploy_template(tpl).status == 201 && node.deploy_journey(journey).status == 201;
}

/// Restarts the node on its full outbox and times until `delivered()` reaches n.
template <class Count>
double drain_rate(it::Node& node, int n, Count delivered) {
  if (!node.restart())
    return -1;
  auto t0 = Clock::now();
  auto deadline = t0 + std::chrono::seconds(120);
  while (delivered() < static_cast<size_t>(n)) {
    if (Clock::now() > deadline)
      return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return n / std::chrono::duration<double>(Clock::now() - t0).count();
}

/// One webhook run; deliveries/s or -1.
double webhook_run(const Args& a) {
  std::atomic<bool> accept{false};
  std::atomic<size_t> accepted{0};
  it::HttpReceiver rx([&](const it::ReceivedRequest&, size_t) {
    if (!accept)
      return it::Reply{503, {{"Retry-After", "3600"}}, "", 0};
    ++accepted;
    return it::Reply{};
  });
  if (!rx.start())
    return -1;
  it::NodeOptions o;
  o.config["channels"] = json::object{{"push", json::object{{"provider", "webhook"},
                                                             {"url", rx.url()},
                                                             {"allow_private", true},
                                                             {"in_flight_max", a.in_flight}}}};
  it::Node node(o);
  if (!node.start() || !deploy(node, kPingTemplate, kPingJourney) || !ingest(node, a.deliveries, "push_token") ||
      node.terminate() != 0)
    return -1;
  accept = true;
  return drain_rate(node, a.deliveries, [&] { return accepted.load(); });
}

/// One SMTP run; deliveries/s or -1.
double smtp_run(const Args& a) {
  it::SmtpServer smtp;
  if (!smtp.start())
    return -1;
  smtp.refuse_mail(true);
  it::NodeOptions o;
  o.config["channels"] = json::object{{"email", json::object{{"provider", "smtp"},
                                                              {"host", "127.0.0.1"},
                                                              {"port", smtp.port()},
                                                              {"from", "bench@waymark.test"},
                                                              {"backoff_base_ms", 3600000},
                                                              {"backoff_max_ms", 3600000},
                                                              {"in_flight_max", a.in_flight}}}};
  it::Node node(o);
  if (!node.start() || !deploy(node, kMailTemplate, kMailJourney) || !ingest(node, a.deliveries, "email") ||
      node.terminate() != 0)
    return -1;
  smtp.refuse_mail(false);
  return drain_rate(node, a.deliveries, [&] { return smtp.mails().size(); });
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void report(const char* name, double (*run)(const Args&), const Args& a) {
  std::vector<double> rates;
  for (int r = 0; r < a.runs; ++r) {
    double x = run(a);
    std::printf("%s run %d: %s\n", name, r + 1, x < 0 ? "FAILED" : (std::to_string(static_cast<long>(x)) + " deliveries/s").c_str());
    std::fflush(stdout);
    if (x > 0)
      rates.push_back(x);
  }
  std::printf("%s median: %.0f deliveries/s (%d deliveries, in_flight_max %d, %zu/%d runs ok)\n", name, median(rates),
              a.deliveries, a.in_flight, rates.size(), a.runs);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--deliveries"))
      a.deliveries = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--runs"))
      a.runs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--in-flight"))
      a.in_flight = std::atoi(argv[i + 1]);
  }
  report("BM_DeliveryWebhook", webhook_run, a);
  report("BM_DeliverySmtp", smtp_run, a);
  return 0;
}
