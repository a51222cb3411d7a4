#include "support/cluster.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "support/events.hpp"
#include "waymark/cluster.hpp"

namespace waymark::it {

std::vector<uint16_t> free_cluster_ports(size_t n) {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 32000);
  std::vector<int> fds;
  std::vector<uint16_t> out;
  while (out.size() < n) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(pick(rng)));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      continue;
    }
    fds.push_back(fd);
    out.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds)
    ::close(fd);
  std::sort(out.begin(), out.end());
  return out;
}

std::map<std::string, bool> cluster_members_up(Node& node) {
  std::map<std::string, bool> out;
  auto r = node.get("/api/cluster");
  if (r.status != 200)
    return out;
  for (auto& m : array_at(r.json(), "members"))
    out[str_at(m, "address")] = m.as_object().at("up").as_bool();
  return out;
}

std::string cluster_owner_of(Node& node, const std::string& customer) {
  auto view = node.get("/api/cluster").json();
  auto p = cluster::partition_of(customer, static_cast<uint32_t>(int_at(view, "partitions", 1)));
  for (auto& m : array_at(view, "members"))
    for (auto& q : m.as_object().at("partitions").as_array())
      if (q.as_int64() == p)
        return str_at(m, "address");
  return "";
}

int cluster_history_count(Node& node, const std::string& customer, const std::string& name) {
  int n = 0;
  for (auto& h : array_at(node.customer(customer).json(), "history"))
    n += str_at(h, "name") == name;
  return n;
}

uint64_t metric_value(Node& node, const std::string& name_and_labels) {
  std::istringstream in(node.get("/metrics").body);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name_and_labels + " ", 0) == 0)
      return std::stoull(line.substr(name_and_labels.size() + 1));
  return 0;
}

std::chrono::duration<double> process_cpu(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 14 and 15 (1-based): utime, stime
    if (i == 14)
      utime = std::stoull(field);
    if (i == 15)
      stime = std::stoull(field);
  }
  return std::chrono::duration<double>(static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK)));
}


namespace json = boost::json;

std::vector<uint16_t> free_ports(size_t n) { return free_cluster_ports(n); }

NodeOptions member(uint16_t self, const std::vector<uint16_t>& peers, int partitions) {
  json::array list;
  for (auto p : peers)
    list.push_back(json::value(addr(p)));
  NodeOptions o;
  o.config = json::object{{"cluster", json::object{{"listen", addr(self)}, {"peers", list}, {"partitions", partitions}}}};
  return o;
}

std::vector<std::unique_ptr<Node>> start_members(const std::vector<uint16_t>& ports) {
  std::vector<std::unique_ptr<Node>> nodes;
  for (size_t i = 0; i < ports.size(); ++i) {
    std::vector<uint16_t> peers;
    for (size_t j = 0; j < ports.size(); ++j)
      if (j != i)
        peers.push_back(ports[j]);
    nodes.push_back(std::make_unique<Node>(member(ports[i], peers)));
    if (!nodes.back()->start()) {
      ADD_FAILURE() << "member " << i << " did not start: " << nodes.back()->logs();
      return {};
    }
  }
  return nodes;
}

std::map<std::string, bool> members_up(Node& node) { return cluster_members_up(node); }

bool all_up(Node& node, size_t members) {
  auto r = node.get("/api/cluster");
  if (r.status != 200 || at_path(r.json(), "ready") != json::value(true))
    return false;  // the node's catalog is not in step with the leader's yet, or its partitions are arriving
  auto up = members_up(node);
  if (up.size() != members)
    return false;
  for (auto& [a, u] : up)
    if (!u)
      return false;
  return true;
}

std::string owner_of(Node& node, const std::string& customer) { return cluster_owner_of(node, customer); }

}  // namespace waymark::it
