// AgentStatus: what coffre-agent tells the world in STATE_DIR/status.json,
// rewritten after every change, read by `coffre agent status` and by
// monitoring. The daemon also reads it back at start-up: the last run's
// start of each job (for catch-up) and `since` survive a restart.
// Format (version 1; readers ignore unknown keys):
//   {"version":1,"pid":1234,"started":"2026-11-29T00:00:00Z","since":"...",
//    "config":"/etc/coffre/agent.conf","updated":"...","jobs":[{"name":"server",
//    "repo":"...","schedule":"daily 02:30","running":false,
//    "next_run":"2026-11-30T02:30:00+01:00" (or null),"last_run":{"started":"...",
//    "finished":"...","duration_ms":1234,"outcome":"success","exit_code":0,"error":"",
//    "snapshot":"ab12...","files":10,"bytes":123,"new_bytes":45,
//    "trigger":"schedule","requests":14,"sent_bytes":5000,"received_bytes":300}
//    (or null)}]}
// `trigger` is "schedule" for a run the daemon started, "manual" for
// `coffre-agent --run` (absent in older files: "schedule").
// Agent times are written in UTC ("Z"), job times in local time with the
// offset; both forms are read back.
// Thread-safety: plain values and free functions; one writer per state dir.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace coffre::daemon {

inline constexpr int kStatusVersion = 1;

struct LastRun {
  int64_t started = 0;   // Unix seconds
  int64_t finished = 0;  // Unix seconds
  int64_t duration_ms = 0;
  std::string outcome;   // "success" | "partial" | "failure" | "cancelled"
  int exit_code = 0;     // coffre's exit code for the run
  std::string error;     // one line; "" on success
  std::string snapshot;  // id, or "" when none was saved
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t new_bytes = 0;
  std::string trigger = "schedule";  // or "manual" (coffre-agent --run)
  // What crossed the line to a vault (0 for a local repository).
  uint64_t requests = 0;
  uint64_t sent_bytes = 0;
  uint64_t received_bytes = 0;
  // Failed runs in a row, this one included; 0 if it did not fail. Spaces
  // the retries of a failing job (RetryTime in scheduler.h).
  int failures_in_row = 0;
};

struct JobStatus {
  std::string name;
  std::string repo;
  std::string schedule;  // as written in the config
  bool running = false;
  std::optional<int64_t> next_run;  // Unix seconds; nullopt: never
  std::optional<LastRun> last_run;  // nullopt: never ran
};

struct AgentStatus {
  int version = kStatusVersion;
  pid_t pid = 0;
  int64_t started = 0;  // this daemon process's start
  int64_t since = 0;    // the first start of a daemon with this state dir
  std::string config;   // the config file's path
  int64_t updated = 0;  // when this was written
  std::vector<JobStatus> jobs;
};

// JSON text of `status` (one line, keys in the order above).
std::string EncodeStatus(const AgentStatus& status);
// kCorruption for text that is not such JSON (naming the bad key),
// kUnsupportedVersion for a version above kStatusVersion.
Result<AgentStatus> DecodeStatus(std::string_view json);

// Replaces STATE_DIR/status.json atomically: a temporary file in the same
// folder, fsync, rename, fsync of the folder; a reader sees the old or the
// new file, never a mix, and a crash leaves no temporary behind except in
// the window of the write itself. Creates STATE_DIR (mode 0755) if missing.
// The file is mode 0644: status is not secret (no keys, no tokens).
Status WriteStatusFile(const std::string& state_dir, const AgentStatus& status);

// kNotFound if there is no status file, else as DecodeStatus, with the
// path in the message.
Result<AgentStatus> ReadStatusFile(const std::string& state_dir);

// Read, change, write under an exclusive flock on STATE_DIR/status.lock,
// so the daemon and `coffre-agent --run` never lose each other's records.
// `change` gets the file's status (a fresh one if there is none or it does
// not decode: it is rewritten whole). Blocks while another holds the lock.
Status UpdateStatusFile(const std::string& state_dir,
                        const std::function<void(AgentStatus*)>& change);

// Records `job` (with its last run) in the status file, replacing the
// entry of the same name and keeping everything else.
Status RecordJobStatus(const std::string& state_dir, const JobStatus& job);

// "2026-11-29T01:30:00Z".
std::string FormatUtcTime(int64_t unix_seconds);
// In the process's time zone with its offset: "2026-11-29T02:30:00+01:00".
std::string FormatLocalTime(int64_t unix_seconds);
// Either form above (also "+0100", or a fraction of a second, ignored);
// kInvalidArgument otherwise.
Result<int64_t> ParseIsoTime(std::string_view text);

// True if a process with this pid exists (even one we may not signal).
// A pid reused by another program also counts: callers compare other facts
// if it matters. False for pid <= 0.
bool ProcessAlive(pid_t pid);

}  // namespace coffre::daemon
