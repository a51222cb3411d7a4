// Holdout assignment by a seeded XXH3 hash.
#include <string>

#include <xxhash.h>

#include "waymark/outcomes/holdout.hpp"

namespace waymark::outcomes {
namespace {
constexpr XXH64_hash_t kHoldoutSeed = 0x686f6c646f7574ULL;  // "holdout"
}

uint32_t holdout_bucket(std::string_view customer, std::string_view journey) {
  std::string key = "holdout\x1f";
  key.append(customer).append(1, '\x1f').append(journey);
  return static_cast<uint32_t>(XXH3_64bits_withSeed(key.data(), key.size(), kHoldoutSeed) % kHoldoutBuckets);
}

bool held_out(std::string_view customer, std::string_view journey, double percent) {
  return double(holdout_bucket(customer, journey)) < percent * 100.0;
}

}  // namespace waymark::outcomes
