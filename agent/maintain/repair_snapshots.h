// RepairSnapshots (`coffre repair snapshots`): for snapshots that reference
// missing or damaged data, writes new snapshots that keep everything still
// readable. A file with an unreadable chunk and a folder whose listing is
// unreadable are left out of the new snapshot, never kept with a hole, and
// named, one per line with the reason, in a file at the new snapshot's root
// (kDamageReportName). The new snapshot keeps the original's time, host,
// paths and tags, adds the tags "repaired" and "repaired-from:ID8", and the
// original stays until the user forgets it. A snapshot already repaired
// (one tagged repaired-from its id exists) is not repaired again.
// Damage is found by the index and the stored packs (a chunk no index or
// stored pack has); with read_data, by reading every chunk too.
// Thread-safety: one call at a time per repository.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/repo/repository.h"

namespace coffre::maintain {

inline constexpr const char* kDamageReportName = "COFFRE-DAMAGED-FILES.txt";

struct RepairSnapshotsOptions {
  std::vector<std::string> snapshots;  // ids or prefixes; empty: every snapshot
  bool read_data = false;
  bool dry_run = false;  // find and report, write nothing
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const std::string&)> warn;
};

struct RepairedSnapshot {
  ObjectId original;
  std::optional<ObjectId> repaired;  // nullopt in a dry run, or when nothing is left
  std::vector<std::string> damaged;  // "PATH: reason", in tree order
};

struct RepairSnapshotsStats {
  uint64_t checked = 0;                 // snapshots looked at
  uint64_t already_repaired = 0;        // skipped: a repaired copy exists
  std::vector<RepairedSnapshot> repaired;  // those with damage
};

Result<RepairSnapshotsStats> RepairSnapshots(repo::Repository& repo,
                                             const RepairSnapshotsOptions& options);

}  // namespace coffre::maintain
