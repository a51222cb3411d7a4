// Partition ownership by rendezvous hashing (see include/waymark/cluster.hpp).
#include <xxhash.h>

#include <algorithm>
#include <cstdio>

#include "waymark/cluster.hpp"

namespace waymark::cluster {
namespace {

constexpr uint32_t kPartitionsMax = 65536;

uint64_t xxh64(std::string_view s, uint64_t seed) { return XXH64(s.data(), s.size(), seed); }

/// The weight of `member` for `partition`: XXH64 of the member's address,
/// seeded with the partition number. The highest weight owns the partition;
/// equal weights (never seen in practice) go to the smaller address.
uint64_t weight(const std::string& member, uint32_t partition) { return xxh64(member, partition); }

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::optional<Error> check_address(const std::string& a) {
  auto colon = a.rfind(':');
  bool port_ok = colon != std::string::npos && colon + 1 < a.size() && colon > 0 &&
                 std::all_of(a.begin() + colon + 1, a.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!port_ok) return make_error("bad_member", "cluster member '" + a + "' is not host:port");
  return std::nullopt;
}

}  // namespace

uint32_t partition_of(std::string_view customer_key, uint32_t partitions) {
  return static_cast<uint32_t>(xxh64(customer_key, 0) % (partitions > 0 ? partitions : 1));
}

Result<Membership> Membership::make(std::vector<std::string> members, uint32_t partitions) {
  if (partitions < 1 || partitions > kPartitionsMax)
    return make_error("bad_partitions", "cluster.partitions must be 1..65536, got " + std::to_string(partitions));
  if (members.empty()) return make_error("no_members", "a cluster needs at least one member");
  for (auto& m : members)
    if (auto e = check_address(m)) return *e;
  std::sort(members.begin(), members.end());
  if (auto dup = std::adjacent_find(members.begin(), members.end()); dup != members.end())
    return make_error("duplicate_member", "cluster member '" + *dup + "' is listed twice");
  Membership m;
  m.members_ = std::move(members);
  m.partitions_ = partitions;
  std::string canonical = "partitions=" + std::to_string(partitions) + "\n";
  for (auto& a : m.members_) canonical += a + "\n";
  m.hash_ = hex64(xxh64(canonical, 0));
  m.owners_.resize(partitions);
  for (uint32_t p = 0; p < partitions; ++p) {
    size_t best = 0;
    for (size_t i = 1; i < m.members_.size(); ++i)
      if (weight(m.members_[i], p) > weight(m.members_[best], p)) best = i;
    m.owners_[p] = static_cast<uint32_t>(best);
  }
  return m;
}

std::string Membership::describe() const {
  std::string out = std::to_string(partitions_) + " partitions over ";
  for (size_t i = 0; i < members_.size(); ++i) out += (i ? ", " : "") + members_[i];
  return out;
}

bool Membership::contains(std::string_view member) const {
  return std::binary_search(members_.begin(), members_.end(), member);
}

std::vector<uint32_t> Membership::partitions_of(std::string_view member) const {
  std::vector<uint32_t> out;
  for (uint32_t p = 0; p < partitions_; ++p)
    if (members_[owners_[p]] == member) out.push_back(p);
  return out;
}

Result<std::vector<Move>> moves(const Membership& before, const Membership& after) {
  if (before.partitions() != after.partitions())
    return make_error("partitions_changed", "cluster.partitions cannot change (" + std::to_string(before.partitions()) +
                                                " -> " + std::to_string(after.partitions()) + ")");
  std::vector<Move> out;
  for (uint32_t p = 0; p < before.partitions(); ++p)
    if (before.owner_of(p) != after.owner_of(p)) out.push_back(Move{p, before.owner_of(p), after.owner_of(p)});
  return out;
}

}  // namespace waymark::cluster
