// Checker: verifies a repository without trusting it.
//
// Structure: every index object opens; every snapshot opens and matches its
// id; every tree reachable from a snapshot decodes; every blob a tree names
// is in the index; every indexed pack exists with the indexed size. With
// read_data, every pack is also read whole: its SHA-256 must equal its name,
// its header must decrypt and agree with the index, and every blob must
// decrypt, decompress and hash to its id.
//
// Each problem is reported through `report` with the object's name and
// counted; the check goes on. Packs that no index names (an interrupted
// backup's) are reported as notes, not damage.
// Thread-safety: one Check per Repository at a time.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "agent/repo/repository.h"

namespace coffre::maintain {

struct CheckOptions {
  bool read_data = false;
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const std::string&)> report;  // one line per problem
  std::function<void(const std::string&)> note;    // informational lines
};

struct CheckStats {
  uint64_t snapshots = 0;
  uint64_t trees = 0;
  uint64_t packs = 0;
  uint64_t blobs_read = 0;
  uint64_t unindexed_packs = 0;
  uint64_t errors = 0;
};

// Returns the stats (errors > 0 means damage was found); an error only if
// the check itself could not run (storage unreachable, cancelled).
Result<CheckStats> RunCheck(repo::Repository& repo, const CheckOptions& options);

}  // namespace coffre::maintain
