#include "agent/daemon/job_runner.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "agent/backup/archiver.h"
#include "agent/daemon/job_check.h"
#include "agent/maintain/forget.h"
#include "agent/maintain/prune.h"
#include "agent/util/child_process.h"
#include "agent/util/exit_codes.h"
#include "agent/util/priority.h"

namespace coffre::daemon {

namespace {

class JobRun {
 public:
  JobRun(const JobConfig& job, const AgentSettings& settings, AgentLog& log,
         const std::atomic<bool>* cancel, std::shared_ptr<RateLimiter> limiter,
         std::function<void(const backup::BackupProgress&)> progress, UnlockedKeys* unlocked)
      : job_(job),
        settings_(settings),
        log_(log),
        cancel_(cancel),
        limiter_(std::move(limiter)),
        progress_(std::move(progress)),
        unlocked_(unlocked) {}

  LastRun Run() {
    ApplyPriority();
    run_.started = std::time(nullptr);
    const auto start = std::chrono::steady_clock::now();
    log_.Info("job " + job_.name + ": started");
    Status status = Hook("before", job_.hooks.before);
    if (status.ok()) status = BackupAndRetain();
    Finish(status);
    run_.requests = transfer_->requests;
    run_.sent_bytes = transfer_->sent_bytes;
    run_.received_bytes = transfer_->received_bytes;
    run_.finished = std::time(nullptr);
    run_.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    Status after = Hook("after", job_.hooks.after);
    if (!after.ok() && run_.outcome == "success") {
      // The backup is safe, but someone must look: the job did not end clean.
      run_.outcome = "failure";
      run_.exit_code = kExitFailure;
      run_.error = after.message();
    }
    log_.Log(run_.outcome == "success" ? LogLevel::kInfo : LogLevel::kError,
             "job " + job_.name + ": " + run_.outcome + " in " + std::to_string(run_.duration_ms) +
                 " ms" + (run_.snapshot.empty() ? "" : ", snapshot " + run_.snapshot.substr(0, 8)) +
                 (run_.snapshot.empty() ? ""
                                        : ", " + std::to_string(run_.files) + " files, " +
                                              std::to_string(run_.bytes) + " bytes (" +
                                              std::to_string(run_.new_bytes) + " new)") +
                 (run_.requests ? ", sent " + std::to_string(run_.sent_bytes) + " and received " +
                                      std::to_string(run_.received_bytes) + " bytes in " +
                                      std::to_string(run_.requests) + " requests"
                                : "") +
                 (run_.error.empty() ? "" : ": " + run_.error));
    return run_;
  }

 private:
  // On this thread only (Linux keeps nice and ionice per thread): the
  // backup's threads and the hooks started from here inherit them.
  void ApplyPriority() {
    if (settings_.nice != 0) {
      Status s = SetCpuNice(settings_.nice, PriorityScope::kThread);
      if (!s.ok()) log_.Warning("job " + job_.name + ": nice: " + s.message());
    }
    if (settings_.ionice.io_class != IoClass::kNone) {
      Status s = SetIoPriority(settings_.ionice, PriorityScope::kThread);
      if (!s.ok()) log_.Warning("job " + job_.name + ": ionice: " + s.message());
    }
  }

  Status Hook(const char* phase, const std::string& command) {
    if (command.empty()) return Status::Ok();
    CommandSpec spec;
    spec.command = command;
    spec.env = {{"COFFRE_JOB", job_.name}, {"COFFRE_REPO", job_.repo}, {"COFFRE_PHASE", phase}};
    if (std::string(phase) == "after") {
      spec.env.insert(spec.env.end(), {{"COFFRE_OUTCOME", run_.outcome},
                                       {"COFFRE_EXIT_CODE", std::to_string(run_.exit_code)},
                                       {"COFFRE_ERROR", run_.error},
                                       {"COFFRE_SNAPSHOT", run_.snapshot},
                                       {"COFFRE_DURATION_MS", std::to_string(run_.duration_ms)}});
    }
    const std::string prefix = "job " + job_.name + ": " + phase + " hook: ";
    spec.output = [this, prefix](const std::string& line) { log_.Info(prefix + line); };
    // The after hook runs even when the job was cancelled: no cancel flag.
    const std::atomic<bool>* cancel = std::string(phase) == "before" ? cancel_ : nullptr;
    auto code = RunCommand(spec, std::chrono::seconds(job_.hooks.timeout_seconds), cancel);
    if (!code) return code.error().WithContext(std::string(phase) + " hook");
    if (*code != 0)
      return IoError(std::string(phase) + " hook exited with " + std::to_string(*code));
    return Status::Ok();
  }

  Status BackupAndRetain() {
    backup::BackupOptions options;
    options.paths = job_.paths;
    options.excludes.patterns = job_.exclude;
    for (const std::string& file : job_.exclude_file) {
      ASSIGN_OR_RETURN(std::vector<std::string> lines, backup::LoadExcludeFile(file));
      options.excludes.patterns.insert(options.excludes.patterns.end(), lines.begin(), lines.end());
    }
    options.excludes.if_present = job_.exclude_if_present;
    options.excludes.caches = job_.exclude_caches;
    options.excludes.one_file_system = job_.one_file_system;
    for (const DumpConfig& dump : job_.dumps) options.commands.push_back({dump.path, dump.command});
    options.tags = job_.tags;
    if (std::find(options.tags.begin(), options.tags.end(), JobTag(job_.name)) ==
        options.tags.end())
      options.tags.push_back(JobTag(job_.name));
    if (job_.compression) options.compression_level = *job_.compression;
    options.cancel = cancel_;
    options.warn = [this](const std::string& line) {
      log_.Warning("job " + job_.name + ": " + line);
    };
    // The disk starts reading directories while the repository opens, as
    // `coffre backup` does: on a cold page cache that is most of an
    // unchanged backup's time.
    std::unique_ptr<backup::ListingPrefetcher> listings =
        backup::StartListing(options.paths, options.excludes);
    options.listings = listings.get();
    ASSIGN_OR_RETURN(auto repo, OpenJobRepository(job_, settings_, limiter_, transfer_, unlocked_));
    ASSIGN_OR_RETURN(backup::BackupResult result, backup::RunBackup(*repo, options, progress_));
    run_.snapshot = result.snapshot_id.Hex();
    run_.files = result.snapshot.stats.files;
    run_.bytes = result.snapshot.stats.bytes;
    run_.new_bytes = result.snapshot.stats.new_bytes;
    errors_ = result.snapshot.stats.errors;
    if (!job_.retention) return Status::Ok();

    maintain::ForgetOptions forget;
    forget.policy = job_.retention->policy;
    // Only what this job made: its marker, this host, its very paths.
    forget.filter.host = result.snapshot.host;
    forget.filter.paths = result.snapshot.paths;
    forget.filter.tags = {JobTag(job_.name)};
    ASSIGN_OR_RETURN(maintain::ForgetReport report, maintain::Forget(*repo, forget));
    log_.Info("job " + job_.name + ": forget removed " + std::to_string(report.removed) +
              " snapshot(s)");
    if (!job_.retention->prune) return Status::Ok();
    maintain::PruneOptions prune;
    prune.cancel = cancel_;
    prune.warn = options.warn;
    auto pruned = maintain::Prune(*repo, prune);
    if (!pruned) return pruned.error().WithContext("prune");
    log_.Info("job " + job_.name + ": prune deleted " + std::to_string(pruned->deleted_packs) +
              " pack(s), " + std::to_string(pruned->plans_waiting) + " plan(s) waiting");
    return Status::Ok();
  }

  void Finish(const Status& status) {
    if (status.ok()) {
      run_.outcome = errors_ ? "partial" : "success";
      run_.exit_code = errors_ ? kExitPartial : kExitOk;
      if (errors_) run_.error = std::to_string(errors_) + " entries could not be read";
      return;
    }
    run_.outcome = status.code() == ErrorCode::kCancelled ? "cancelled" : "failure";
    run_.exit_code = ExitCodeFor(status);
    run_.error = status.message();
  }

  const JobConfig& job_;
  const AgentSettings& settings_;
  AgentLog& log_;
  const std::atomic<bool>* cancel_;
  std::shared_ptr<RateLimiter> limiter_;
  std::function<void(const backup::BackupProgress&)> progress_;
  UnlockedKeys* unlocked_;
  std::shared_ptr<storage::TransferCounter> transfer_ =
      std::make_shared<storage::TransferCounter>();
  LastRun run_;
  uint64_t errors_ = 0;
};

}  // namespace

std::string JobTag(const std::string& job_name) { return "coffre-job:" + job_name; }

LastRun RunJob(const JobConfig& job, const AgentSettings& settings, AgentLog& log,
               const std::atomic<bool>* cancel, std::shared_ptr<RateLimiter> shared_limiter,
               std::function<void(const backup::BackupProgress&)> progress,
               UnlockedKeys* unlocked) {
  return JobRun(job, settings, log, cancel, std::move(shared_limiter), std::move(progress),
                unlocked)
      .Run();
}

}  // namespace coffre::daemon
