// The pure parts of a channel gateway's pacing: the token bucket that bounds
// the send rate and the retry delay (exponential backoff with jitter,
// honouring Retry-After). Plain structs over a caller-supplied monotonic
// time in milliseconds, so they are unit-tested without threads or sleeps.
#pragma once

#include <cstdint>
#include <random>

#include "waymark/config.hpp"

namespace waymark {

/// Token bucket: `burst` tokens at most, refilled at `rate_per_s`. A rate of
/// 0 means unlimited. Starts full.
class TokenBucket {
public:
  TokenBucket(double rate_per_s, double burst, int64_t now_ms);
  /// Takes one token when available.
  bool take(int64_t now_ms);
  /// Milliseconds until the next token (0 when one is available now).
  int64_t wait_ms(int64_t now_ms);
  bool unlimited() const { return rate_ <= 0; }

private:
  void refill(int64_t now_ms);
  double rate_;
  double burst_;
  double tokens_;
  int64_t last_ms_;
};

/// Knobs of the retry schedule (from ChannelConfig).
struct RetryPolicy {
  int attempts_max = 8;
  int64_t backoff_base_ms = 500;
  int64_t backoff_max_ms = 60000;
  int64_t retry_after_max_ms = 3600000;  // a provider's Retry-After is honoured up to 1 h
  static RetryPolicy of(const ChannelConfig& c);
};

/// Delay before attempt `failed_attempts + 1`: base * 2^(failed_attempts-1),
/// capped at backoff_max_ms, "equal jitter" (uniform in [d/2, d]), and never
/// shorter than the provider's Retry-After (capped at retry_after_max_ms).
int64_t retry_delay_ms(const RetryPolicy& p, int failed_attempts, int64_t retry_after_ms, std::mt19937_64& rng);

/// True when another attempt is allowed after `failed_attempts` attempts.
inline bool may_retry(const RetryPolicy& p, int failed_attempts) { return failed_attempts < p.attempts_max; }

}  // namespace waymark
