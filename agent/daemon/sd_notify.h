// systemd's notification protocol (sd_notify(3)) without libsystemd: a
// datagram "READY=1", "WATCHDOG=1", "STATUS=…" or "STOPPING=1" to the
// socket named by NOTIFY_SOCKET. Without that variable (not under systemd,
// or Type=simple) every call does nothing.
// Thread-safety: free functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace coffre::daemon {

// Sends `state` if NOTIFY_SOCKET is set; errors are ignored (a lost
// notification must not stop backups).
void SdNotify(const std::string& state);

// The watchdog period systemd expects WATCHDOG=1 within (WATCHDOG_USEC, for
// this pid per WATCHDOG_PID), or nullopt if none is set.
std::optional<std::chrono::milliseconds> WatchdogInterval();

}  // namespace coffre::daemon
