// AgentDaemon: coffre-agent's main loop. It keeps each job's next run from
// its schedule (catching up a run missed while the agent was down), starts
// due jobs on threads (never two on one repository, at most
// max_parallel_jobs at once), records every run in STATE_DIR/status.json,
// reloads its configuration on request (SIGHUP) keeping the old one if the
// new one is wrong, and on stop (SIGTERM) cancels running jobs, lets their
// after hooks run, and returns. It keeps each job's repository keys between
// runs (UnlockedKeys), so a scheduled run skips the passphrase KDF.
// Thread-safety: Run on one thread; RequestReload and RequestStop from any
// thread (the signal thread).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/daemon/agent_config.h"
#include "agent/daemon/agent_log.h"
#include "agent/daemon/agent_status.h"
#include "agent/daemon/scheduler.h"
#include "agent/daemon/unlocked_keys.h"
#include "core/base/rate_limiter.h"

namespace coffre::daemon {

class AgentDaemon {
 public:
  // `state_dir` overrides the config's when not empty.
  AgentDaemon(std::string config_path, std::string state_dir, AgentConfig config, Clock& clock,
              AgentLog& log);
  ~AgentDaemon();

  // Runs until RequestStop; returns the process exit code (0, or 1 if the
  // state directory cannot be written).
  int Run();
  void RequestReload();
  void RequestStop();

 private:
  struct Running {
    JobConfig job;  // a copy: a reload must not change a job under way
    AgentSettings settings;
    std::thread thread;
    std::atomic<bool> cancel{false};
    std::atomic<bool> done{false};
  };

  void Reload();
  void ApplySettings();
  void StartDueJobs(int64_t now);
  void ReapFinished();
  // When `job` runs next, from its last start (caller holds mu_).
  int64_t NextRunLocked(const JobConfig& job, int64_t now) const;
  int64_t NextWake(int64_t now);
  // Rewrites status.json under its lock, first adopting runs started by
  // hand that the file records.
  Status SaveStatus(int64_t now);
  void AdoptManualRunsLocked(const AgentStatus& file);
  void BuildStatusLocked(int64_t now);
  const std::string& state_dir() const;

  const std::string config_path_;
  const std::string state_dir_override_;
  AgentConfig config_;
  Clock& clock_;
  AgentLog& log_;
  std::shared_ptr<RateLimiter> limiter_;  // [agent] limit_upload, shared by jobs
  // Each job's repository keys, kept between its runs (declared before
  // running_, so it outlives the job threads).
  UnlockedKeys unlocked_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reload_{false};

  std::mutex mu_;  // guards last_runs_ and running_ against job threads
  AgentStatus status_;
  std::map<std::string, LastRun> last_runs_;                 // by job name
  std::map<std::string, std::unique_ptr<Running>> running_;  // by job name
  std::map<std::string, std::string> busy_repos_;            // repo -> job name
};

}  // namespace coffre::daemon
