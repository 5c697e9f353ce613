// Prune: frees the space of data no snapshot uses, safely while backups run.
//
// It works in two steps (docs/prune.md has the protocol and its proof):
// - mark: packs that hold no used blob are condemned; packs whose used
//   bytes are under `repack_below` of their blobs' bytes have their used blobs
//   copied into new packs, then are condemned too. The condemned list is
//   published as a PrunePlan under locks/; from then on every reader treats
//   those packs as gone, so no new backup deduplicates against them.
// - sweep: a plan older than `grace`, once no backup that began before it
//   was visible (plus `clock_skew`), and no restore or check, still holds a
//   live lock, is carried out: packs that a snapshot saved in the meantime uses are kept (put back
//   in the index), index objects naming the others are rewritten, then the
//   packs, the superseded index objects and the plan are deleted.
// One run marks, then sweeps every plan that is ripe (its own included, so
// on a quiet repository one prune frees the space at once). Two prunes at
// once are refused with kLocked; backups are never refused.
// Thread-safety: one Prune per Repository at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "agent/repo/repo_lock.h"
#include "agent/repo/repository.h"

namespace coffre::maintain {

struct PruneOptions {
  bool dry_run = false;  // report what would be condemned; change nothing
  // Repack a pack whose used bytes are below this fraction of its blobs'
  // bytes (its header and preamble do not count).
  double repack_below = 0.5;
  std::chrono::nanoseconds grace{0};
  // How far apart two hosts' clocks may be (lock times come from each host).
  std::chrono::nanoseconds clock_skew{std::chrono::minutes(5)};
  // The plan records now + this as the time it is surely visible by; a save
  // slower than that is undone (nothing condemned) and the prune fails.
  std::chrono::nanoseconds publish_margin{std::chrono::minutes(1)};
  repo::LockTiming timing;
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const std::string&)> warn;  // one line per problem
  std::function<void(const std::string&)> note;  // one line per step
};

struct PruneStats {
  uint64_t snapshots = 0;
  uint64_t packs = 0;           // indexed, not condemned, before this run
  uint64_t unused_packs = 0;    // condemned whole by this run's mark
  uint64_t repacked_packs = 0;  // condemned after copying their used blobs
  uint64_t repacked_blobs = 0;
  uint64_t repacked_bytes = 0;   // stored bytes of the new packs
  uint64_t condemned_bytes = 0;  // size of the packs this run condemned
  std::optional<ObjectId> plan;  // this run's plan, if it condemned anything
  uint64_t plans_swept = 0;
  uint64_t plans_waiting = 0;  // not ripe: swept by a later prune
  uint64_t deleted_packs = 0;
  uint64_t deleted_bytes = 0;
  uint64_t rescued_packs = 0;    // condemned, then used by a later snapshot
  uint64_t stale_locks = 0;      // removed
  uint64_t unindexed_packs = 0;  // in no index: a running or killed backup's, left alone
};

Result<PruneStats> Prune(repo::Repository& repo, const PruneOptions& options);

}  // namespace coffre::maintain
