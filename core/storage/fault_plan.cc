#include "core/storage/fault_plan.h"

#include <random>
#include <utility>

namespace coffre::storage {

namespace {

// SplitMix64's finalizer: spreads (seed, stream, n) over the whole seed
// space, so neighbouring calls get unrelated generators.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool Applies(FaultKind kind, FaultStream stream) {
  switch (kind) {
    case FaultKind::kError:
      return true;
    case FaultKind::kLostAnswer:
      return stream == FaultStream::kSave || stream == FaultStream::kRemove;
    case FaultKind::kShortRead:
      return stream == FaultStream::kLoad;
    case FaultKind::kTornWrite:
      return stream == FaultStream::kSave || stream == FaultStream::kWrite;
    case FaultKind::kNoSpace:
      return stream == FaultStream::kSave || stream == FaultStream::kWrite;
    case FaultKind::kNone:
      return false;
  }
  return false;
}

}  // namespace

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kNone: return "none";
    case FaultKind::kError: return "error";
    case FaultKind::kLostAnswer: return "lost answer";
    case FaultKind::kShortRead: return "short read";
    case FaultKind::kTornWrite: return "torn write";
    case FaultKind::kNoSpace: return "no space";
  }
  return "?";
}

FaultDraw FaultPlan::Draw(FaultStream stream, uint64_t n) const {
  std::mt19937_64 rng(Mix(Mix(seed) ^ Mix((static_cast<uint64_t>(stream) << 56) ^ n)));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  FaultDraw draw;
  // Always the same number of draws, whatever is chosen, so one fault's
  // probability never changes which calls get another.
  const double pick = unit(rng);
  draw.keep = unit(rng);
  draw.transient = unit(rng) < 0.5;
  const double slow_pick = unit(rng);
  const double delay = unit(rng);
  double below = 0;
  const std::pair<FaultKind, double> chances[] = {
      {FaultKind::kError, error},         {FaultKind::kLostAnswer, lost_answer},
      {FaultKind::kShortRead, short_read}, {FaultKind::kTornWrite, torn_write},
      {FaultKind::kNoSpace, no_space}};
  for (const auto& [kind, chance] : chances) {
    below += chance;
    if (pick < below) {
      if (Applies(kind, stream)) draw.kind = kind;
      break;
    }
  }
  if (slow_pick < slow) {
    draw.delay = std::chrono::microseconds(
        static_cast<int64_t>(delay * static_cast<double>(max_delay.count())));
  }
  return draw;
}

}  // namespace coffre::storage
