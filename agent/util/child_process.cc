#include "agent/util/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace coffre {

namespace {

// Longest line handed to `output`; a longer one arrives in pieces.
constexpr size_t kMaxLine = 4096;
// How often RunCommand looks at the child, the cancel flag and the clock.
constexpr std::chrono::milliseconds kPollInterval(20);
// Time between SIGTERM and SIGKILL when RunCommand stops a command.
constexpr std::chrono::seconds kKillGrace(5);

Status SysError(const std::string& what, int err) {
  return IoError(what + ": " + std::strerror(err));
}

// A pipe whose both ends are close-on-exec and above 2, so the dup2 calls
// that set up the child's 0/1/2 never clobber one end with the other (the
// agent may have been started with a standard descriptor closed).
Status MakePipe(UniqueFd* read_end, UniqueFd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return SysError("pipe", errno);
  UniqueFd ends[2] = {UniqueFd(fds[0]), UniqueFd(fds[1])};
  for (UniqueFd& end : ends) {
    if (end.get() > 2) continue;
    int moved = ::fcntl(end.get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0) return SysError("fcntl", errno);
    end = UniqueFd(moved);
  }
  *read_end = std::move(ends[0]);
  *write_end = std::move(ends[1]);
  return Status::Ok();
}

// The agent's environment with `additions` replacing or extending it; built
// before the spawn, since a child of a threaded process must not allocate.
std::vector<std::string> BuildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& additions) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view var(*entry);
    std::string_view name = var.substr(0, var.find('='));
    bool replaced = false;
    for (const auto& [added, value] : additions) replaced |= (added == name);
    if (!replaced) env.emplace_back(var);
  }
  for (const auto& [name, value] : additions) env.push_back(name + "=" + value);
  return env;
}

// Reads `fd` to EOF and hands each line (without its newline) to `output`.
void ForwardLines(UniqueFd fd, const std::function<void(const std::string&)>& output) {
  std::string line;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[i] == '\n') {
        if (output) output(line);
        line.clear();
        continue;
      }
      line.push_back(buffer[i]);
      if (line.size() == kMaxLine) {
        if (output) output(line);
        line.clear();
      }
    }
  }
  if (!line.empty() && output) output(line);
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

// True once `pid` has exited; the zombie is left for Wait to reap, so the
// pid (and the group id) cannot be reused while the caller still signals it.
bool HasExited(pid_t pid) {
  siginfo_t info{};
  for (;;) {
    int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc == 0) return info.si_pid == pid;
    if (errno != EINTR) return true;  // ECHILD: already reaped
  }
}

std::string DescribeTimeout(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) {
    return std::to_string(timeout.count() / 1000) + " s";
  }
  return std::to_string(timeout.count()) + " ms";
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(const CommandSpec& spec) {
  if (spec.command.empty()) return Err(InvalidArgumentError("empty command"));

  UniqueFd output_read, output_write, stdout_read, stdout_write;
  RETURN_IF_ERROR(MakePipe(&output_read, &output_write));
  if (spec.capture_stdout) RETURN_IF_ERROR(MakePipe(&stdout_read, &stdout_write));

  std::vector<std::string> env = BuildEnvironment(spec.env);
  std::vector<char*> envp;
  for (std::string& var : env) envp.push_back(var.data());
  envp.push_back(nullptr);
  std::string sh = "sh", dash_c = "-c", command = spec.command;
  char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};

  // The child: its own process group, default signal handling and an empty
  // mask (the agent may block or ignore SIGTERM/SIGPIPE for itself), stdin
  // from /dev/null, and no descriptor of the agent's but 0, 1 and 2, even
  // one a library opened without close-on-exec (a vault socket).
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  ::posix_spawnattr_init(&attr);
  ::posix_spawn_file_actions_init(&actions);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  ::posix_spawnattr_setflags(
      &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  ::posix_spawnattr_setpgroup(&attr, 0);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(
      &actions, spec.capture_stdout ? stdout_write.get() : output_write.get(), 1);
  ::posix_spawn_file_actions_adddup2(&actions, output_write.get(), 2);
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) return Err(SysError("start /bin/sh", rc));

  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->pid_ = pid;
  child->stdout_ = std::move(stdout_read);
  // Only the child holds the write ends now, so the readers see EOF when it
  // (and everything it started) is gone.
  output_write.Reset();
  stdout_write.Reset();
  child->reader_ = std::thread(ForwardLines, std::move(output_read), spec.output);
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    Kill(SIGKILL);
    (void)Wait();
  }
  if (reader_.joinable()) reader_.join();
}

Result<int> ChildProcess::Wait() {
  if (pid_ <= 0 || reaped_) {
    return Err(InternalError("ChildProcess::Wait called twice"));
  }
  int wait_status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid_, &wait_status, 0);
  } while (rc < 0 && errno == EINTR);
  const int err = errno;
  reaped_ = true;
  if (reader_.joinable()) reader_.join();
  if (rc < 0) return Err(SysError("waitpid", err));
  return ExitCodeOf(wait_status);
}

void ChildProcess::Kill(int signal) {
  if (pid_ > 0 && !reaped_) ::kill(-pid_, signal);
}

Result<int> RunCommand(CommandSpec spec, std::chrono::milliseconds timeout,
                       const std::atomic<bool>* cancel) {
  spec.capture_stdout = false;
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child, ChildProcess::Start(spec));
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + timeout;
  bool cancelled = false;
  for (;;) {
    if (HasExited(child->pid())) return child->Wait();
    if (cancel != nullptr && cancel->load()) {
      cancelled = true;
      break;
    }
    if (Clock::now() >= deadline) break;
    ::poll(nullptr, 0, static_cast<int>(kPollInterval.count()));
  }

  child->Kill(SIGTERM);
  const Clock::time_point kill_at = Clock::now() + kKillGrace;
  while (!HasExited(child->pid()) && Clock::now() < kill_at) {
    ::poll(nullptr, 0, static_cast<int>(kPollInterval.count()));
  }
  // Also reaches members of the group that outlived the shell; the shell is
  // not reaped yet, so the group id still names this group.
  child->Kill(SIGKILL);
  (void)child->Wait();
  if (cancelled) return Err(CancelledError("cancelled"));
  return Err(CancelledError("timed out after " + DescribeTimeout(timeout)));
}

}  // namespace coffre
