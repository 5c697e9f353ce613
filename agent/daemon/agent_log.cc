#include "agent/daemon/agent_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "agent/daemon/agent_status.h"

namespace coffre::daemon {

namespace {

// syslog priorities: debug 7, info 6, warning 4, error 3.
int Priority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return 7;
    case LogLevel::kInfo:
      return 6;
    case LogLevel::kWarning:
      return 4;
    case LogLevel::kError:
      return 3;
  }
  return 6;
}

}  // namespace

bool AgentLog::StderrIsJournal() {
  // JOURNAL_STREAM is "DEVICE:INODE" of the journal's socket; it counts
  // only if stderr is still that socket (not redirected by a wrapper).
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (!stream) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st;
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

void AgentLog::Log(LogLevel level, const std::string& line) {
  if (level < level_.load()) return;
  std::string out;
  if (journal_) {
    // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict)
    // on "<" + std::to_string(...).
    out = "<";
    out += std::to_string(Priority(level));
    out += '>';
    out += line;
    out += '\n';
  } else {
    out = FormatUtcTime(std::time(nullptr));
    out += ' ';
    out += LogLevelName(level);
    out += ' ';
    out += line;
    out += '\n';
  }
  std::lock_guard<std::mutex> guard(mu_);
  if (before_write_) before_write_();
  // One write per line, so lines from threads never interleave.
  ssize_t ignored = ::write(STDERR_FILENO, out.data(), out.size());
  (void)ignored;
}

}  // namespace coffre::daemon
