// The node's clock: system time, or a manual clock driven by POST /api/clock.
// Thread-safe; shared by the HTTP server, customer actors and the timer service.
#pragma once

#include <atomic>
#include <chrono>

#include "waymark/time.hpp"

namespace waymark {

class Clock {
public:
  explicit Clock(bool manual, Millis start = 0) : manual_(manual), now_(start) {}
  bool manual() const { return manual_; }
  Millis now() const {
    if (!manual_)
      return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
    return now_.load(std::memory_order_acquire);
  }
  /// Manual clock only: moves time (never backwards).
  void set(Millis t) {
    Millis cur = now_.load();
    while (t > cur && !now_.compare_exchange_weak(cur, t)) {
    }
  }

private:
  bool manual_;
  std::atomic<Millis> now_;
};

}  // namespace waymark
