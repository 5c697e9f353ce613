#include "agent/util/priority.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <vector>

namespace coffre {

namespace {

// The kernel's ioprio encoding (include/uapi/linux/ioprio.h): a stable ABI.
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;
constexpr int kIoprioClassNone = 0;
constexpr int kIoprioClassBestEffort = 2;
constexpr int kIoprioClassIdle = 3;

// The ids of this process's threads; just the caller's when /proc is
// missing (a chroot), which is then the best that can be done.
std::vector<pid_t> Threads(PriorityScope scope) {
  const pid_t self = static_cast<pid_t>(::gettid());
  if (scope == PriorityScope::kThread) return {self};
  std::vector<pid_t> tids;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return {self};
  while (const dirent* entry = ::readdir(dir)) {
    pid_t tid = 0;
    std::string_view name(entry->d_name);
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), tid);
    if (ec == std::errc() && end == name.data() + name.size()) tids.push_back(tid);
  }
  ::closedir(dir);
  return tids;
}

// Runs `apply` on each thread of `scope`; a thread that exited meanwhile
// (ESRCH) is skipped, any other failure stops and is returned.
Status ForEachThread(PriorityScope scope, const std::string& what,
                     const std::function<int(pid_t)>& apply) {
  for (pid_t tid : Threads(scope)) {
    if (apply(tid) == 0 || errno == ESRCH) continue;
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      return PermissionDeniedError(what + ": not permitted (raising a priority needs root)");
    }
    return ErrnoStatus(err, what);
  }
  return Status::Ok();
}

}  // namespace

Status SetCpuNice(int n, PriorityScope scope) {
  if (n < -20 || n > 19) {
    return InvalidArgumentError("nice value " + std::to_string(n) + " is not in -20..19");
  }
  return ForEachThread(scope, "set nice to " + std::to_string(n), [n](pid_t tid) {
    return ::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), n);
  });
}

int GetCpuNice() {
  errno = 0;
  return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
}

Status SetIoPriority(IoClass io_class, int level, PriorityScope scope) {
  int value = 0;
  switch (io_class) {
    case IoClass::kNone:
      value = kIoprioClassNone << kIoprioClassShift;
      break;
    case IoClass::kIdle:
      value = kIoprioClassIdle << kIoprioClassShift;
      break;
    case IoClass::kBestEffort:
      if (level < 0 || level > 7) {
        return InvalidArgumentError("best-effort I/O level " + std::to_string(level) +
                                    " is not in 0..7");
      }
      value = (kIoprioClassBestEffort << kIoprioClassShift) | level;
      break;
  }
  const std::string what = "set I/O priority " + FormatIoPriority({io_class, level});
  return ForEachThread(scope, what, [value](pid_t tid) {
    return static_cast<int>(::syscall(SYS_ioprio_set, kIoprioWhoProcess, tid, value));
  });
}

Result<IoPriority> GetIoPriority() {
  long value = ::syscall(SYS_ioprio_get, kIoprioWhoProcess, 0);
  if (value < 0) return Err(ErrnoStatus(errno, "get I/O priority"));
  const int io_class = static_cast<int>(value >> kIoprioClassShift);
  const int level = static_cast<int>(value & ((1 << kIoprioClassShift) - 1));
  switch (io_class) {
    case kIoprioClassNone:
      return IoPriority{IoClass::kNone, 0};
    case kIoprioClassBestEffort:
      return IoPriority{IoClass::kBestEffort, level};
    case kIoprioClassIdle:
      return IoPriority{IoClass::kIdle, 0};
    default:  // real-time: never set by coffre
      return Err(UnsupportedVersionError("I/O class " + std::to_string(io_class) +
                                         " is not one coffre sets"));
  }
}

Result<IoPriority> ParseIoPriority(std::string_view text) {
  auto invalid = [&] {
    return Err(InvalidArgumentError("I/O priority '" + std::string(text) +
                                    "': use idle, best-effort, best-effort:N (N 0..7) or none"));
  };
  if (text == "idle") return IoPriority{IoClass::kIdle, 0};
  if (text == "none") return IoPriority{IoClass::kNone, 0};
  if (text == "best-effort") return IoPriority{IoClass::kBestEffort, kDefaultBestEffortLevel};
  constexpr std::string_view kPrefix = "best-effort:";
  if (text.substr(0, kPrefix.size()) != kPrefix || text.size() != kPrefix.size() + 1) {
    return invalid();
  }
  const char digit = text.back();
  if (digit < '0' || digit > '7') return invalid();
  return IoPriority{IoClass::kBestEffort, digit - '0'};
}

std::string FormatIoPriority(const IoPriority& priority) {
  switch (priority.io_class) {
    case IoClass::kIdle:
      return "idle";
    case IoClass::kBestEffort:
      return "best-effort:" + std::to_string(priority.level);
    case IoClass::kNone:
      break;
  }
  return "none";
}

}  // namespace coffre
