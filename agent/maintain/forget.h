// Forget: removes snapshots from a repository, named ones or those a
// RetentionPolicy does not keep. Only the snapshot objects go; the data they
// alone referenced stays until `prune` (so a backup running meanwhile,
// which may use a forgotten snapshot as its parent, loses nothing).
// Thread-safety: one call at a time per repository.
#pragma once

#include <string>
#include <vector>

#include "agent/maintain/retention_policy.h"
#include "agent/repo/repository.h"
#include "agent/repo/snapshot_filter.h"

namespace coffre::maintain {

struct ForgetOptions {
  // Snapshots named by id, unique prefix or "latest". When empty, `policy`
  // decides.
  std::vector<std::string> snapshots;
  RetentionPolicy policy;
  // With a policy: only the snapshots this filter matches are judged; the
  // others are left alone and not reported.
  repo::SnapshotFilter filter;
  bool dry_run = false;
  std::function<std::tm(int64_t)> calendar = LocalCalendar;
};

struct ForgetReport {
  std::vector<RetentionDecision> decisions;  // oldest first; keep = stays
  size_t removed = 0;                        // 0 in a dry run
  // Snapshots that cannot be read. Rules never judge them (they have no
  // time); named by id, they are removed like any other (their decision
  // comes after the readable ones'); otherwise they are kept.
  std::vector<repo::DamagedSnapshot> damaged;
};

// kInvalidArgument for both names and a policy, or neither; kNotFound for a
// name that matches nothing (then nothing is removed). A damaged snapshot
// can be named by id or prefix, not reached by "latest".
Result<ForgetReport> Forget(repo::Repository& repo, const ForgetOptions& options);

}  // namespace coffre::maintain
