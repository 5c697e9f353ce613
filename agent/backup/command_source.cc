#include "agent/backup/command_source.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <mutex>

#include "agent/backup/exclude_rules.h"
#include "agent/util/child_process.h"
#include "core/format/tree.h"

namespace coffre::backup {

namespace {

// How long a read waits for output before it looks at the cancel flag and
// passes on stderr lines again.
constexpr int kPollMs = 100;

// `inner` is `outer` or below it.
bool IsWithin(const std::string& inner, const std::string& outer) {
  if (outer == "/") return true;
  return inner.size() >= outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
         (inner.size() == outer.size() || inner[outer.size()] == '/');
}

// The word a user recognizes a command by: "pg_dump" for "pg_dump --clean app".
std::string FirstWord(const std::string& command) {
  size_t begin = command.find_first_not_of(" \t");
  if (begin == std::string::npos) return command;
  size_t end = command.find_first_of(" \t", begin);
  return command.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// Lines of a command's stderr arrive on ChildProcess's reader thread; they
// wait here to be passed on from the caller's thread.
class LineQueue {
 public:
  void Push(const std::string& line) {
    std::lock_guard lock(mu_);
    lines_.push_back(line);
  }
  void FlushTo(const std::string& prefix, const std::function<void(const std::string&)>& warn) {
    std::vector<std::string> lines;
    {
      std::lock_guard lock(mu_);
      lines.swap(lines_);
    }
    if (warn)
      for (const std::string& line : lines) warn(prefix + line);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace

Result<CommandSource> ParseCommandSource(const std::string& arg) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
    return Err(InvalidArgumentError("--from-command '" + arg + "': expected PATH=COMMAND"));
  return CommandSource{arg.substr(0, eq), arg.substr(eq + 1)};
}

Status CheckCommandSources(const std::vector<std::string>& paths,
                           const std::vector<CommandSource>& commands) {
  for (size_t i = 0; i < commands.size(); ++i) {
    const std::string& path = commands[i].path;
    auto bad = [&](const std::string& why) {
      return InvalidArgumentError("--from-command path '" + path + "' " + why);
    };
    std::string normal;
    for (std::string_view part : SplitPath(path)) {
      if (!format::IsSafeName(part)) return bad("must be absolute and normalized");
      normal.push_back('/');
      normal.append(part);
    }
    if (path.empty() || path[0] != '/' || normal != path)
      return bad("must be absolute and normalized (no '.', '..', '//' or trailing '/')");
    for (const std::string& p : paths) {
      if (IsWithin(path, p)) return bad("is inside the backup path " + p);
      if (IsWithin(p, path)) return bad("holds the backup path " + p);
    }
    for (size_t j = 0; j < i; ++j) {
      const std::string& other = commands[j].path;
      if (IsWithin(path, other) || IsWithin(other, path))
        return bad("overlaps the --from-command path " + other);
    }
  }
  return Status::Ok();
}

Result<uint64_t> RunCommandSource(const CommandSource& source, FileChunker& chunker,
                                  const std::atomic<bool>* cancel,
                                  const std::function<Status(ByteView)>& emit,
                                  const std::function<void(const std::string&)>& warn) {
  const std::string prefix = FirstWord(source.command) + ": ";
  LineQueue stderr_lines;  // outlives the child and its reader thread
  CommandSpec spec;
  spec.command = source.command;
  spec.capture_stdout = true;
  spec.output = [&stderr_lines](const std::string& line) { stderr_lines.Push(line); };
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> child, ChildProcess::Start(spec));

  const int fd = child->stdout_fd();
  auto read = [&](uint8_t* buf, size_t len) -> Result<size_t> {
    for (;;) {
      stderr_lines.FlushTo(prefix, warn);
      if (cancel && cancel->load()) return Err(CancelledError("interrupted"));
      pollfd p{fd, POLLIN, 0};
      int ready = poll(&p, 1, kPollMs);
      if (ready < 0 && errno != EINTR) return Err(ErrnoStatus(errno, "poll"));
      if (ready <= 0) continue;
      ssize_t n = ::read(fd, buf, len);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n < 0) return Err(ErrnoStatus(errno, "read the output of " + source.command));
      return static_cast<size_t>(n);
    }
  };
  Result<uint64_t> size = chunker.RunStream(read, cancel, emit);
  if (!size) {
    // The output is useless now: stop the command rather than wait for it.
    child->Kill(SIGKILL);
    (void)child->Wait();
    stderr_lines.FlushTo(prefix, warn);
    return Err(size.error());
  }
  child->CloseStdout();
  ASSIGN_OR_RETURN(int code, child->Wait());
  stderr_lines.FlushTo(prefix, warn);
  if (code != 0) {
    return Err(IoError("command '" + source.command + "' for " + source.path +
                       " exited with code " + std::to_string(code)));
  }
  return *size;
}

}  // namespace coffre::backup
