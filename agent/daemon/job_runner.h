// RunJob: one run of a coffre-agent job, start to end: the `before` hook,
// the backup (paths, excludes, dumps streamed from commands), forget and
// prune by the job's retention, then the `after` hook with the outcome in
// its environment (COFFRE_OUTCOME, COFFRE_EXIT_CODE, COFFRE_ERROR,
// COFFRE_SNAPSHOT, COFFRE_DURATION_MS, plus COFFRE_JOB, COFFRE_REPO and
// COFFRE_PHASE for both hooks). The after hook runs whenever the before
// hook was attempted, whatever happened. The job runs at [agent] nice and
// ionice: they are set on the calling thread, which the job's own threads
// and commands inherit, so the daemon's loop keeps its normal priority.
// Every snapshot a job saves carries the tag JobTag(name), and the job's
// retention only ever judges snapshots of this host with that tag and the
// job's exact set of paths: snapshots made by hand or by other jobs are
// never forgotten by it.
// Thread-safety: one RunJob per job at a time; different jobs may run at once.
#pragma once

#include <atomic>
#include <memory>

#include "agent/backup/archiver.h"
#include "agent/daemon/agent_config.h"
#include "agent/daemon/agent_log.h"
#include "agent/daemon/agent_status.h"
#include "agent/daemon/unlocked_keys.h"
#include "core/base/rate_limiter.h"

namespace coffre::daemon {

// "coffre-job:NAME": the tag that marks the snapshots of job NAME.
std::string JobTag(const std::string& job_name);

// Never fails: every problem becomes the LastRun's outcome ("failure",
// "partial", "cancelled"), exit code (the codes of `coffre`) and error line.
// `cancel` stops the backup (packs stored so far are indexed, no snapshot).
// `shared_limiter`, if set, paces the uploads of every job that has no
// limit_upload of its own, so parallel jobs share [agent] limit_upload.
// `progress`, if set, hears the backup's progress (from the calling thread).
// `unlocked`, if set, keeps the repository's keys for the job's next run.
LastRun RunJob(const JobConfig& job, const AgentSettings& settings, AgentLog& log,
               const std::atomic<bool>* cancel,
               std::shared_ptr<RateLimiter> shared_limiter = nullptr,
               std::function<void(const backup::BackupProgress&)> progress = {},
               UnlockedKeys* unlocked = nullptr);

}  // namespace coffre::daemon
