// FaultPlan: which storage call suffers which fault, drawn at random from a
// seed, for the loops that drive backup, prune, restore and check through a
// FaultInjectingBackend with many seeds (tests/unit/agent/
// fault_seed_loop_test.cc). The same seed gives the same fault to the n-th
// call of each operation on every run and machine: each draw seeds its own
// std::mt19937_64 from (seed, stream, n), so faults do not shift when threads
// interleave calls of different operations; calls of one operation made from
// several threads at once are only as reproducible as their order.
// Thread-safety: Draw is const and may be called from many threads.
#pragma once

#include <chrono>
#include <cstdint>

namespace coffre::storage {

// What one call suffers. kNone: it runs as asked.
enum class FaultKind {
  kNone,
  kError,       // fails before reaching the wrapped backend (kUnavailable or kIo)
  kLostAnswer,  // Save, Remove: done, but reported as kUnavailable
  kShortRead,   // Load: returns only a prefix of the bytes, as if OK
  kTornWrite,   // Save: stores only a prefix under the name, reports kIo
  kNoSpace,     // Save: kNoSpace, nothing stored
};

const char* FaultKindName(FaultKind kind);

// Which calls a draw is for; each has its own call numbers.
enum class FaultStream { kSave = 0, kLoad, kStat, kRemove, kList, kWrite };

struct FaultDraw {
  FaultKind kind = FaultKind::kNone;
  // For kShortRead and kTornWrite: the fraction of the bytes kept, in [0, 1).
  double keep = 0;
  // For kError: kUnavailable if true, else kIo.
  bool transient = false;
  // Sleep before the call (0: none).
  std::chrono::microseconds delay{0};
};

struct FaultPlan {
  uint64_t seed = 0;
  // Per call, the chance of each fault; those that do not apply to an
  // operation (a short read to a Save) count as no fault. Their sum should
  // stay below 1.
  double error = 0;
  double lost_answer = 0;
  double short_read = 0;
  double torn_write = 0;
  double no_space = 0;
  // Independently of the above: the chance that a call first sleeps up to
  // `max_delay`.
  double slow = 0;
  std::chrono::microseconds max_delay{2000};

  // The fault of call `n` (1 = the first) of `stream`.
  FaultDraw Draw(FaultStream stream, uint64_t n) const;
};

}  // namespace coffre::storage
