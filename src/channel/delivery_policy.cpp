#include "channel/delivery_policy.hpp"

#include <algorithm>
#include <cmath>

namespace waymark {

TokenBucket::TokenBucket(double rate_per_s, double burst, int64_t now_ms)
    : rate_(rate_per_s), burst_(burst > 0 ? burst : std::max(1.0, rate_per_s)), tokens_(burst_), last_ms_(now_ms) {}

void TokenBucket::refill(int64_t now_ms) {
  if (now_ms > last_ms_) {
    tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_ms - last_ms_) / 1000.0);
    last_ms_ = now_ms;
  }
}

bool TokenBucket::take(int64_t now_ms) {
  if (unlimited())
    return true;
  refill(now_ms);
  if (tokens_ < 1.0)
    return false;
  tokens_ -= 1.0;
  return true;
}

int64_t TokenBucket::wait_ms(int64_t now_ms) {
  if (unlimited())
    return 0;
  refill(now_ms);
  if (tokens_ >= 1.0)
    return 0;
  return static_cast<int64_t>(std::ceil((1.0 - tokens_) * 1000.0 / rate_));
}

RetryPolicy RetryPolicy::of(const ChannelConfig& c) {
  RetryPolicy p;
  p.attempts_max = c.attempts_max;
  p.backoff_base_ms = c.backoff_base_ms;
  p.backoff_max_ms = c.backoff_max_ms;
  return p;
}

int64_t retry_delay_ms(const RetryPolicy& p, int failed_attempts, int64_t retry_after_ms, std::mt19937_64& rng) {
  int shift = std::clamp(failed_attempts - 1, 0, 40);
  double d = static_cast<double>(p.backoff_base_ms) * std::pow(2.0, shift);
  auto capped = static_cast<int64_t>(std::min(d, static_cast<double>(p.backoff_max_ms)));
  std::uniform_int_distribution<int64_t> jitter(capped / 2, std::max<int64_t>(capped / 2, capped));
  int64_t delay = jitter(rng);
  return std::max(delay, std::min(retry_after_ms, p.retry_after_max_ms));
}

}  // namespace waymark
