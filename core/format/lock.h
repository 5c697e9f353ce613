// Lock records: the objects under locks/ that let prune run while backups
// run (docs/format/lock.md, docs/prune.md). Two kinds share the folder:
// - a Lock says "a backup (or restore, check, prune) of this session is
//   running"; it is rewritten every few minutes, so one whose refresh time
//   is old belongs to a process that died;
// - a PrunePlan names the packs a prune has condemned: from the moment it
//   is published, readers treat those packs as gone, and a later prune
//   deletes them once no process that could have seen them is still running.
// Stored as sealed objects, magic "CFLK", version 1. Thread-safety: values.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/base/bytes.h"
#include "core/base/status.h"
#include "core/id/id.h"

namespace coffre::format {

inline constexpr char kLockMagic[] = "CFLK";
inline constexpr uint8_t kLockVersion = 1;

enum class LockKind : uint8_t {
  kBackup = 1,  // adds objects; may deduplicate against any indexed blob
  kRead = 2,    // restore, check: reads packs
  kPrune = 3,   // exclusive among prunes
};
const char* LockKindName(LockKind kind);

using SessionId = std::array<uint8_t, 16>;

struct Lock {
  LockKind kind = LockKind::kBackup;
  SessionId session{};       // random, the same in every refresh of one run
  int64_t created_ns = 0;    // when the run took its first lock (Unix ns)
  int64_t refreshed_ns = 0;  // when this object was written
  std::string host;
  uint32_t pid = 0;
  bool operator==(const Lock&) const = default;
};

struct PrunePlan {
  int64_t created_ns = 0;  // when the prune began to publish it
  // A time by which the plan was surely visible to every reader: the prune
  // checks that its publication ended before it (prune.md, M4).
  int64_t visible_by_ns = 0;
  std::vector<PackId> condemned;  // sorted, no duplicates
  bool operator==(const PrunePlan&) const = default;
};

using LockRecord = std::variant<Lock, PrunePlan>;

// The plaintext encodings (the repository seals them).
Bytes EncodeLockRecord(const LockRecord& record);
// kCorruption for anything malformed: unknown record type or lock kind,
// a count larger than the input, trailing bytes.
Result<LockRecord> DecodeLockRecord(ByteView data);

}  // namespace coffre::format
