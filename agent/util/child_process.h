// ChildProcess: a shell command run as a child of the agent, for hooks
// (before/after a job) and for database dumps streamed into a snapshot
// (`pg_dump app`: its stdout is read through a pipe, never written to disk).
//
// The command runs under /bin/sh -c in its own process group, so Kill reaches
// a whole pipeline (`pg_dump app | gzip`). Its stdin is /dev/null. Its stderr
// (and its stdout, unless captured) is read by a thread and handed to
// `output` line by line, so a hook's messages land in the agent's log.
// Thread-safety: one thread at a time per ChildProcess; Kill may be called
// from another thread while Wait blocks.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/util/fd.h"
#include "core/base/status.h"

namespace coffre {

struct CommandSpec {
  std::string command;  // run by /bin/sh -c
  // Added to the agent's environment (a name already set is replaced).
  std::vector<std::pair<std::string, std::string>> env;
  // true: stdout is a pipe the caller reads from stdout_fd(); false: stdout
  // lines go to `output` like stderr.
  bool capture_stdout = false;
  std::function<void(const std::string&)> output;  // one line, no newline
};

class ChildProcess {
 public:
  // kInvalidArgument for an empty command; kIo if fork/pipe fails. A command
  // that does not exist is not an error here: the shell exits 127.
  static Result<std::unique_ptr<ChildProcess>> Start(const CommandSpec& spec);
  // Kills the process group (SIGKILL) and reaps it if Wait was not called.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // The read end of the child's stdout when capture_stdout, else -1. The
  // caller reads it to EOF before calling Wait (a full pipe blocks the child).
  int stdout_fd() const { return stdout_.get(); }
  // Closes the stdout pipe early (the child then gets SIGPIPE on write).
  void CloseStdout() { stdout_.Reset(); }

  // Waits for the child to exit and for its output to be drained. Returns
  // the exit code 0..255, or 128 + N if killed by signal N (as a shell does).
  Result<int> Wait();
  // Sends `signal` to the child's process group; no-op after Wait.
  void Kill(int signal);

 private:
  ChildProcess() = default;

  pid_t pid_ = -1;
  // Atomic: Kill reads it from another thread while Wait sets it.
  std::atomic<bool> reaped_{false};
  UniqueFd stdout_;
  std::thread reader_;  // forwards stderr (and uncaptured stdout) lines
};

// Runs `spec` to completion (capture_stdout is ignored: all output goes to
// `output`). Returns the exit code as Wait does. After `timeout`, or once
// `cancel` is set, the group gets SIGTERM, then SIGKILL 5 s later, and the
// result is kCancelled ("timed out after …" or "cancelled").
Result<int> RunCommand(CommandSpec spec, std::chrono::milliseconds timeout,
                       const std::atomic<bool>* cancel = nullptr);

}  // namespace coffre
