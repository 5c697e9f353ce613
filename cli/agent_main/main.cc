// coffre-agent: the backup service of an SME server. Reads its jobs from
// one configuration file and runs them on their schedules (man
// coffre-agent(8), scripts/agent.conf.example); all the work is in
// agent/daemon/.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <mutex>
#include <thread>

#include "agent/daemon/agent_daemon.h"
#include "agent/daemon/job_check.h"
#include "agent/daemon/job_runner.h"
#include "agent/util/exit_codes.h"
#include "agent/util/malloc_tuning.h"
#include "cli/output/progress.h"

namespace {

using namespace coffre;
using namespace coffre::daemon;

struct Args {
  std::string config = "/etc/coffre/agent.conf";
  std::string state_dir;
  std::string log_level;
  std::string run_job;
  bool check_config = false;
  bool online = false;
  bool progress = false;
  bool no_progress = false;
};

int Fail(const std::string& message, int code) {
  std::cerr << "coffre-agent: error: " << message << std::endl;
  return code;
}

// --check-config [--online]: the syntax (already checked by loading), then
// each job's files, and with --online whether its repository opens. Every
// problem is one line on stderr; the exit code is 0 only if none was found.
int CheckConfig(const AgentConfig& config, bool online) {
  const int64_t now = std::time(nullptr);
  size_t problems = 0;
  for (const JobConfig& job : config.jobs) {
    int64_t next = NextRunTime(job.schedule, std::nullopt, now, now);
    std::vector<Status> found = CheckJobFiles(job);
    if (online && found.empty()) {
      auto repo = OpenJobRepository(job, config.agent);
      if (!repo) found.push_back(repo.error().WithContext("repository " + job.repo));
    }
    std::cout << job.name << "  " << job.repo << "  schedule '" << job.schedule.text << "'  next "
              << (next == kNever ? "never" : FormatLocalTime(next)) << "  "
              << (found.empty() ? (online ? "ok, repository opens" : "ok") : "PROBLEM") << "\n";
    for (const Status& s : found)
      std::cerr << "coffre-agent: error: job " << job.name << ": " << s.message() << "\n";
    problems += found.size();
  }
  if (problems) {
    std::cout << config.origin << ": " << config.jobs.size() << " job(s), " << problems
              << " problem(s)" << std::endl;
    return kExitFailure;
  }
  std::cout << config.origin << ": " << config.jobs.size() << " job(s), configuration valid"
            << (online ? "; every repository opens" : " (--online also opens each repository)")
            << std::endl;
  return kExitOk;
}

int Serve(const Args& args, AgentConfig config, AgentLog& log) {
  // Signals are taken by one thread with sigwait, so no handler runs in
  // the middle of a job's code.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  auto clock = SystemClock::Create();
  if (!clock) return Fail(clock.error().message(), kExitFailure);
  AgentDaemon daemon(args.config, args.state_dir, std::move(config), **clock, log);
  std::thread waiter([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        log.Info("SIGHUP: reloading the configuration");
        daemon.RequestReload();
        continue;
      }
      log.Info(std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": stopping");
      daemon.RequestStop();
      return;
    }
  });
  int code = daemon.Run();
  if (waiter.joinable()) {
    // Run ended on its own (state dir error): end the waiter too.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  }
  return code;
}

std::atomic<bool>* g_cancel = nullptr;

void OnCancelSignal(int) {
  if (g_cancel->exchange(true)) _exit(kExitInterrupted);
}

// --run JOB: the job now, in the foreground. SIGINT/SIGTERM cancel it as
// the daemon's stop does (a second one exits at once); a closed stdout or
// stderr (`| head`) is not a death. The run is recorded in status.json like
// a scheduled one, so `coffre agent status` shows it.
int RunOnce(const Args& args, const AgentConfig& config, const JobConfig& job, AgentLog& log) {
  static std::atomic<bool> cancel{false};
  g_cancel = &cancel;
  struct sigaction sa{};
  sa.sa_handler = OnCancelSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // On a terminal (or with --progress), the progress line of coffre backup;
  // log lines clear it first, so the two never share a line.
  const bool show = !args.no_progress && (args.progress || isatty(STDERR_FILENO));
  cli::ProgressLine line(show);
  std::mutex line_mu;
  std::function<void(const backup::BackupProgress&)> on_progress;
  if (show) {
    log.set_before_write([&] {
      std::lock_guard<std::mutex> guard(line_mu);
      line.Clear();
    });
    on_progress = [&](const backup::BackupProgress& p) {
      std::lock_guard<std::mutex> guard(line_mu);
      if (line.Due()) line.Update(cli::BackupProgressText(p, line.ElapsedSeconds()));
    };
  }
  LastRun run = RunJob(job, config.agent, log, &cancel, nullptr, on_progress);
  {
    std::lock_guard<std::mutex> guard(line_mu);
    line.Clear();
  }
  log.set_before_write(nullptr);
  run.trigger = "manual";
  JobStatus status;
  status.name = job.name;
  status.repo = job.repo;
  status.schedule = job.schedule.text;
  const int64_t now = std::time(nullptr);
  const int64_t next = NextRunTime(job.schedule, run.started, now, now);
  if (next != kNever) status.next_run = next;
  status.last_run = run;
  const std::string& state_dir = args.state_dir.empty() ? config.agent.state_dir : args.state_dir;
  if (Status s = RecordJobStatus(state_dir, status); !s.ok())
    log.Warning("job " + job.name + ": run not recorded in " + state_dir + ": " + s.message());
  return run.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  coffre::TuneMallocForLargeBuffers();
  Args args;
  CLI::App app{"coffre-agent: runs the backup jobs of /etc/coffre/agent.conf on their schedules"};
  app.set_version_flag("--version", "coffre-agent 0.1.0");
  app.add_option("-c,--config", args.config, "configuration file (default /etc/coffre/agent.conf)");
  app.add_option("--state-dir", args.state_dir,
                 "where status.json is kept (default: the config's state_dir, "
                 "/var/lib/coffre-agent)");
  app.add_option("--log-level", args.log_level,
                 "debug, info, warning or error (overrides the config)");
  app.add_flag("--check-config", args.check_config,
               "validate the configuration and the files each job names, print each job's "
               "next run, and exit (1 if a problem was found)");
  app.add_flag("--online", args.online,
               "with --check-config: also open each job's repository with its passphrase");
  app.add_option("--run", args.run_job,
                 "run this job once now, in the foreground, and exit with "
                 "its exit code");
  app.add_flag("--progress", args.progress,
               "with --run: draw the backup's progress line on stderr even when it is not a "
               "terminal");
  app.add_flag("--no-progress", args.no_progress, "with --run: never draw a progress line");
  app.footer(
      "Signals: SIGHUP reloads the configuration (a wrong one is refused and the old one kept); "
      "SIGTERM cancels running jobs cleanly and exits. Exit codes: those of coffre for --run; "
      "2 for a wrong configuration or usage; 1 otherwise. See coffre-agent(8).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return Fail(std::string(e.what()) + " (see coffre-agent --help)", kExitUsage);
  }

  auto config = LoadAgentConfig(args.config);
  if (!config) {
    int code = config.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
    return Fail(config.error().message(), code);
  }
  if (!args.log_level.empty()) {
    auto level = ParseLogLevel(args.log_level);
    if (!level) return Fail(level.error().message(), kExitUsage);
    config->agent.log_level = *level;
  }
  if (args.check_config) return CheckConfig(*config, args.online);

  AgentLog log(config->agent.log_level, AgentLog::StderrIsJournal());
  if (!args.run_job.empty()) {
    const JobConfig* job = config->FindJob(args.run_job);
    if (!job) return Fail("no job named '" + args.run_job + "' in " + args.config, kExitUsage);
    return RunOnce(args, *config, *job, log);
  }
  return Serve(args, std::move(*config), log);
}
