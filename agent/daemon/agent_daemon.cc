#include "agent/daemon/agent_daemon.h"

#include <unistd.h>

#include <algorithm>

#include "agent/daemon/job_runner.h"
#include "agent/daemon/sd_notify.h"

namespace coffre::daemon {

AgentDaemon::AgentDaemon(std::string config_path, std::string state_dir, AgentConfig config,
                         Clock& clock, AgentLog& log)
    : config_path_(std::move(config_path)),
      state_dir_override_(std::move(state_dir)),
      config_(std::move(config)),
      clock_(clock),
      log_(log) {}

AgentDaemon::~AgentDaemon() {
  for (auto& [name, run] : running_) {
    run->cancel = true;
    if (run->thread.joinable()) run->thread.join();
  }
}

const std::string& AgentDaemon::state_dir() const {
  return state_dir_override_.empty() ? config_.agent.state_dir : state_dir_override_;
}

void AgentDaemon::RequestReload() {
  reload_ = true;
  clock_.Wake();
}

void AgentDaemon::RequestStop() {
  stop_ = true;
  clock_.Wake();
}

int AgentDaemon::Run() {
  const int64_t started = clock_.Now();
  status_.pid = getpid();
  status_.started = started;
  status_.since = started;
  status_.config = config_path_;
  // What an earlier agent knew: the last runs (for catch-up) and `since`.
  if (auto previous = ReadStatusFile(state_dir())) {
    status_.since = previous->since ? previous->since : started;
    for (const JobStatus& job : previous->jobs)
      if (job.last_run) last_runs_[job.name] = *job.last_run;
  } else if (previous.error().code() != ErrorCode::kNotFound) {
    log_.Warning("ignoring the old status: " + previous.error().message());
  }
  if (Status s = SaveStatus(started); !s.ok()) {
    log_.Error("cannot write the status in " + state_dir() + ": " + s.message());
    return 1;
  }
  ApplySettings();
  log_.Info("started with " + std::to_string(config_.jobs.size()) + " job(s) from " + config_path_);
  SdNotify("READY=1\nSTATUS=waiting for the next job");
  const auto watchdog = WatchdogInterval();

  while (!stop_) {
    if (reload_.exchange(false)) Reload();
    ReapFinished();
    const int64_t now = clock_.Now();
    StartDueJobs(now);
    if (Status s = SaveStatus(now); !s.ok()) log_.Warning("status not saved: " + s.message());
    if (watchdog) SdNotify("WATCHDOG=1");
    int64_t wake = NextWake(now);
    // Half the watchdog period: systemd must hear from us in time.
    if (watchdog)
      wake = std::min<int64_t>(wake, now + std::max<int64_t>(1, watchdog->count() / 2000));
    clock_.WaitUntil(wake);
  }

  SdNotify("STOPPING=1");
  log_.Info("stopping: cancelling running jobs");
  {
    std::lock_guard<std::mutex> guard(mu_);
    for (auto& [name, run] : running_) run->cancel = true;
  }
  for (auto& [name, run] : running_)
    if (run->thread.joinable()) run->thread.join();
  ReapFinished();
  (void)SaveStatus(clock_.Now());
  log_.Info("stopped");
  return 0;
}

void AgentDaemon::Reload() {
  auto fresh = LoadAgentConfig(config_path_);
  if (!fresh) {
    log_.Error("reload refused, keeping the running configuration: " + fresh.error().message());
    return;
  }
  config_ = std::move(*fresh);
  ApplySettings();
  log_.Info("configuration reloaded: " + std::to_string(config_.jobs.size()) + " job(s)");
}

void AgentDaemon::ApplySettings() {
  log_.set_level(config_.agent.log_level);
  // A new limiter on reload: jobs under way keep the pace they started with.
  limiter_ = config_.agent.limit_upload ? std::make_shared<RateLimiter>(config_.agent.limit_upload)
                                        : nullptr;
}

void AgentDaemon::ReapFinished() {
  for (auto it = running_.begin(); it != running_.end();) {
    if (!it->second->done) {
      ++it;
      continue;
    }
    if (it->second->thread.joinable()) it->second->thread.join();
    busy_repos_.erase(it->second->job.repo);
    it = running_.erase(it);
  }
}

void AgentDaemon::StartDueJobs(int64_t now) {
  for (const JobConfig& job : config_.jobs) {
    if (running_.count(job.name)) continue;
    {
      std::lock_guard<std::mutex> guard(mu_);
      if (NextRunLocked(job, now) > now) continue;
    }
    if (auto busy = busy_repos_.find(job.repo); busy != busy_repos_.end()) {
      log_.Debug("job " + job.name + ": waits for job " + busy->second + " on the same repository");
      continue;
    }
    if (running_.size() >= static_cast<size_t>(config_.agent.max_parallel_jobs)) return;
    auto run = std::make_unique<Running>();
    run->job = job;
    run->settings = config_.agent;
    Running* raw = run.get();
    busy_repos_[job.repo] = job.name;
    int failed_before = 0;
    {
      std::lock_guard<std::mutex> guard(mu_);
      if (auto it = last_runs_.find(job.name); it != last_runs_.end())
        failed_before = it->second.failures_in_row;
      // Recorded at once, so the schedule moves on; only finished runs are
      // saved, so an agent killed during the job runs it again at start.
      last_runs_[job.name] = LastRun{};
      last_runs_[job.name].started = now;
    }
    run->thread = std::thread([this, raw, now, failed_before, limiter = limiter_] {
      LastRun result = RunJob(raw->job, raw->settings, log_, &raw->cancel, limiter, {}, &unlocked_);
      // The schedule counts from the daemon's clock, the one it decided by.
      result.started = now;
      result.finished = now + result.duration_ms / 1000;
      result.failures_in_row = result.outcome == "failure" ? failed_before + 1 : 0;
      {
        std::lock_guard<std::mutex> guard(mu_);
        last_runs_[raw->job.name] = result;
      }
      raw->done = true;
      clock_.Wake();
    });
    running_[job.name] = std::move(run);
  }
}

int64_t AgentDaemon::NextRunLocked(const JobConfig& job, int64_t now) const {
  auto it = last_runs_.find(job.name);
  if (it == last_runs_.end()) return NextRunTime(job.schedule, std::nullopt, status_.since, now);
  const LastRun& last = it->second;
  const int64_t scheduled = NextRunTime(job.schedule, last.started, status_.since, now);
  // A failure that may pass is tried again before the next scheduled run.
  if (last.finished == 0) return scheduled;
  auto retry = RetryTime(last.outcome, last.exit_code, last.finished, last.failures_in_row, scheduled);
  return retry ? std::max(*retry, now) : scheduled;
}

int64_t AgentDaemon::NextWake(int64_t now) {
  int64_t wake = kNever;
  std::lock_guard<std::mutex> guard(mu_);
  for (const JobConfig& job : config_.jobs) {
    if (running_.count(job.name)) continue;  // its end wakes us
    int64_t next = NextRunLocked(job, now);
    // Due but waiting for its repository or a slot: a job's end wakes us.
    if (next > now) wake = std::min(wake, next);
  }
  return wake;
}

Status AgentDaemon::SaveStatus(int64_t now) {
  std::lock_guard<std::mutex> guard(mu_);
  return UpdateStatusFile(state_dir(), [&](AgentStatus* file) {
    AdoptManualRunsLocked(*file);
    BuildStatusLocked(now);
    *file = status_;
  });
}

void AgentDaemon::AdoptManualRunsLocked(const AgentStatus& file) {
  // A run started by hand (coffre-agent --run) since our last look: it is
  // the job's last run, for the status and for the schedule's catch-up.
  for (const JobStatus& job : file.jobs) {
    if (!job.last_run || job.last_run->trigger != "manual") continue;
    if (running_.count(job.name)) continue;
    auto it = last_runs_.find(job.name);
    if (it == last_runs_.end() || it->second.started < job.last_run->started)
      last_runs_[job.name] = *job.last_run;
  }
}

void AgentDaemon::BuildStatusLocked(int64_t now) {
  status_.updated = now;
  status_.config = config_path_;
  status_.jobs.clear();
  for (const JobConfig& job : config_.jobs) {
    JobStatus js;
    js.name = job.name;
    js.repo = job.repo;
    js.schedule = job.schedule.text;
    js.running = running_.count(job.name) > 0 && !running_.at(job.name)->done;
    if (auto it = last_runs_.find(job.name); it != last_runs_.end() && it->second.finished)
      js.last_run = it->second;
    int64_t next = NextRunLocked(job, now);
    if (next != kNever) js.next_run = js.running ? std::max(next, now) : next;
    status_.jobs.push_back(std::move(js));
  }
}

}  // namespace coffre::daemon
