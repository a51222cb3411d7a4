// Cluster membership and partition ownership (PRODUCT.md §9), pure code.
//
// A customer's partition is a stable hash of its (alias-resolved) key modulo
// the partition count; a partition's owner is chosen by rendezvous (highest
// random weight) hashing over the member addresses, so adding one member
// moves only the partitions the newcomer wins (~1/N) and removing one moves
// only the partitions it owned. Every member must hold the same view: the
// sorted member set and the partition count, compared through
// membership_hash() at handshake.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "waymark/result.hpp"

namespace waymark::cluster {

/// The partition of a customer key: XXH64(key, seed 0) mod `partitions`.
/// Stable across runs, nodes and builds (single-node managers use it too).
uint32_t partition_of(std::string_view customer_key, uint32_t partitions);

/// One agreed view of the cluster: members sorted and unique.
class Membership {
public:
  /// Members as "host:port" (this node's cluster.listen plus cluster.peers,
  /// in any order). Refuses an empty list, an empty or port-less address, a
  /// duplicate, and a partition count outside 1..65536.
  static Result<Membership> make(std::vector<std::string> members, uint32_t partitions);

  const std::vector<std::string>& members() const { return members_; }
  uint32_t partitions() const { return partitions_; }
  /// 16 lowercase hex digits of XXH64 over "partitions=N" and the sorted
  /// members, one per line: equal exactly when the views are equal.
  const std::string& hash() const { return hash_; }
  /// "N partitions over a:1, b:2" for messages naming a view.
  std::string describe() const;

  /// Index into members() of the partition's owner.
  size_t owner_index(uint32_t partition) const { return owners_.at(partition); }
  const std::string& owner_of(uint32_t partition) const { return members_[owner_index(partition)]; }
  /// The partitions `member` owns, ascending (empty when not a member).
  std::vector<uint32_t> partitions_of(std::string_view member) const;
  bool contains(std::string_view member) const;

private:
  std::vector<std::string> members_;
  uint32_t partitions_ = 0;
  std::string hash_;
  std::vector<uint32_t> owners_;  // partition -> member index
};

/// A partition whose owner differs between two views.
struct Move {
  uint32_t partition = 0;
  std::string from;
  std::string to;
};

/// The partitions to hand off when the view changes from `before` to
/// `after` (same partition count required: a different count is refused).
Result<std::vector<Move>> moves(const Membership& before, const Membership& after);

}  // namespace waymark::cluster
