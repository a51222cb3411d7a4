// When a customer's whole state is stored (a snapshot) instead of its input
// being appended to the input log (store.hpp, "The input log"). Pure.
#pragma once

#include <cstddef>
#include <cstdint>

namespace waymark {

/// Whether the input that makes `inputs` inputs logged since the last
/// snapshot, `logged_bytes` bytes of them, should store the state instead:
/// once `every` inputs are logged, and (for `every` > 1) once they add up to
/// the size of the last stored state (`state_bytes`, 0 when none). Storing a
/// state of S bytes then costs at most about one byte per logged byte, however
/// large S is: a customer with a long history and many events is not
/// rewritten every `every` inputs (the hot customer of bench/README.md spent
/// 40 % of its CPU serialising its state every 16 events). Replay after a
/// crash reads at most about S bytes of inputs more.
/// At most this many inputs between snapshots whatever the sizes (the
/// customer actor keeps their messageIds in memory until the next one).
constexpr uint64_t kInputsBetweenSnapshotsMax = 4096;

inline bool snapshot_due(uint64_t inputs, uint64_t logged_bytes, uint64_t state_bytes, uint64_t every) {
  if (inputs < every)
    return false;
  return every <= 1 || logged_bytes >= state_bytes || inputs >= kInputsBetweenSnapshotsMax;
}

}  // namespace waymark
