#include "actors/node_context.hpp"

#include <xxhash.h>

namespace waymark {

// Stable across runs and nodes (PRODUCT.md §3: customer -> partition by a
// stable hash of the customer key).
size_t NodeContext::partition_of(const std::string& customer) const {
  auto parts = static_cast<uint64_t>(config.partitions > 0 ? config.partitions : 1);
  return static_cast<size_t>(XXH64(customer.data(), customer.size(), 0) % parts);
}

}  // namespace waymark
