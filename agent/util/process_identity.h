// Process identity: short tags that let a process tell, from a record
// another process wrote, whether that writer still runs on this machine.
// The machine tag hashes the kernel's boot id with the pid namespace, so
// a record from another boot, a container with its own pids or another
// machine never matches; the process tag hashes a pid with the process's
// start time, so a pid reused by a later process does not match either.
// RepoLock puts both in a lock's session bytes (docs/format/lock.md).
// Thread-safety: free functions, reading /proc only.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>

namespace coffre {

using IdentityTag = std::array<uint8_t, 4>;

// This boot and pid namespace; nullopt where /proc does not tell (then no
// record is ever judged by its process).
std::optional<IdentityTag> MachineTag();
// The process `pid` of this pid namespace as it runs now; nullopt if no
// such process exists or it has ended (a zombie not yet waited for).
std::optional<IdentityTag> ProcessTag(pid_t pid);

// True only when sure: the record came from this machine tag, and process
// `pid` is gone or is another process than the one tagged.
bool ProcessGone(const IdentityTag& machine, pid_t pid, const IdentityTag& process);

}  // namespace coffre
