// CPU and I/O priority of the agent (--nice, --ionice, the daemon's `nice`
// and `ionice`), so a backup yields the disk and the CPU to the server's
// real work.
//
// On Linux both are per-thread attributes: setpriority(PRIO_PROCESS, 0) and
// ioprio_set(IOPRIO_WHO_PROCESS, 0) change the calling thread only, and a new
// thread inherits its creator's values. So kProcess applies the value to
// every thread listed in /proc/self/task (falling back to the calling thread
// when /proc is missing); threads started afterwards inherit it. A thread
// being created while this runs, by a thread not yet updated, may keep the
// old value: call it before starting workers. kThread changes the calling
// thread only, and so the threads it starts later (a daemon running one job
// at a lower priority than its scheduler).
// Errors: kInvalidArgument for a value out of range, kPermissionDenied when
// the kernel refuses (raising priority needs CAP_SYS_NICE), kIo otherwise.
// Thread-safety: free functions; concurrent calls race like the syscalls.
#pragma once

#include <string>
#include <string_view>

#include "core/base/status.h"

namespace coffre {

enum class PriorityScope { kProcess, kThread };

enum class IoClass {
  kNone,        // no class set: the kernel derives best-effort from nice
  kBestEffort,  // levels 0 (first served) .. 7
  kIdle,        // served only when no one else uses the disk
};

struct IoPriority {
  IoClass io_class = IoClass::kNone;
  int level = 0;  // 0..7; meaningful for kBestEffort only
};

inline constexpr int kDefaultBestEffortLevel = 4;

// Sets the nice value to `n` (-20..19; higher is nicer to others). Absolute,
// unlike nice(1): lowering it below the current value needs privileges.
Status SetCpuNice(int n, PriorityScope scope = PriorityScope::kProcess);
// The calling thread's nice value.
int GetCpuNice();

// Sets the I/O scheduling class; `level` must be 0..7 for kBestEffort and is
// ignored otherwise.
Status SetIoPriority(IoClass io_class, int level, PriorityScope scope = PriorityScope::kProcess);
inline Status SetIoPriority(const IoPriority& priority,
                            PriorityScope scope = PriorityScope::kProcess) {
  return SetIoPriority(priority.io_class, priority.level, scope);
}
// The calling thread's class and level, as ioprio_get reports them.
Result<IoPriority> GetIoPriority();

// "idle", "best-effort" (level 4), "best-effort:N" (N 0..7), "none";
// kInvalidArgument naming the accepted forms for anything else.
Result<IoPriority> ParseIoPriority(std::string_view text);
// The inverse: "idle", "best-effort:N", "none".
std::string FormatIoPriority(const IoPriority& priority);

}  // namespace coffre
