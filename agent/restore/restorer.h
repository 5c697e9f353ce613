// Restorer: writes a snapshot (or chosen paths of it) below a target folder.
//
// The tree walk runs on the calling thread and creates every entry through
// directory fds with O_NOFOLLOW, so no path length limit applies and nothing
// is written outside the target, whatever the repository holds (names are
// checked again here, after the tree decoder). The walk plans the content of
// files in batches (FetchPlan): the chunks they need, grouped by pack into
// few large reads of adjacent bytes, each needed byte read once per batch
// however many files share it. Worker threads fetch the reads, verify each
// blob and write it wherever it goes (RestoredFile); holes of sparse files
// stay holes. A directory's metadata is applied after its entries exist; a
// file's after the last of its content is written.
//
// A file whose content cannot be read (a damaged or missing pack) is reported
// through `warn` with the pack's name, counted in `damaged`, and the restore
// goes on with everything else. A read the backend cannot serve at all (the
// vault is gone, access refused) stops the restore with that error; files
// not finished then are left without their size and metadata.
// Thread-safety: one RunRestore at a time per Repository.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "agent/repo/repository.h"

namespace coffre::restore {

struct RestoreOptions {
  std::string target;                // created if missing
  std::vector<std::string> include;  // absolute paths inside the snapshot; empty: all
  size_t threads = 0;                // 0: a default suited to disks and cores
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const std::string&)> warn;  // damage: what could not be restored exactly
  std::function<void(const std::string&)> note;  // the rest (restoring without a read lock)
};

struct RestoreStats {
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t others = 0;
  uint64_t bytes = 0;
  uint64_t damaged = 0;   // files whose content could not be fully restored
  uint64_t problems = 0;  // entries that could not be created or given metadata
};

// Returns stats on completion (check damaged/problems); an error if the
// target cannot be created, a tree cannot be read, an include path is not
// in the snapshot (kNotFound), or on cancel.
Result<RestoreStats> RunRestore(repo::Repository& repo, const format::Snapshot& snapshot,
                                const RestoreOptions& options);

}  // namespace coffre::restore
