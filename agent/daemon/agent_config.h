// AgentConfig: the settings and jobs of coffre-agent, read from its TOML
// file (/etc/coffre/agent.conf; keys in the agent's interface contract).
// Everything is validated here, so the daemon never meets a bad value: an
// unknown key (a typo) is an error, paths must be absolute (the daemon runs
// from /), names unique, schedules must parse and elapse.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/daemon/calendar_spec.h"
#include "agent/maintain/retention_policy.h"
#include "agent/util/priority.h"
#include "core/base/status.h"

namespace coffre::daemon {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "debug" | "info" | "warning" | "error"; kInvalidArgument otherwise.
Result<LogLevel> ParseLogLevel(std::string_view text);
const char* LogLevelName(LogLevel level);

// A hook timeout in seconds, as core/base/duration.h reads it ("90s",
// "30m", "1h30m"); zero or more than 7 days is kInvalidArgument.
Result<int64_t> ParseHookTimeout(std::string_view text);

struct AgentSettings {
  std::string state_dir = "/var/lib/coffre-agent";
  // The metadata cache of vault repositories; "" is repo::DefaultCacheDir()
  // (CacheDirectory= of the service: /var/cache/coffre).
  std::string cache_dir;
  LogLevel log_level = LogLevel::kInfo;
  int nice = 0;               // 0..19; 0 leaves the priority alone
  IoPriority ionice;          // agent/util/priority.h; default "none"
  uint64_t limit_upload = 0;  // bytes per second for all jobs, 0 = no limit
  int max_parallel_jobs = 2;  // 1..16
};

struct RetentionConfig {
  maintain::RetentionPolicy policy;  // never Empty()
  bool prune = false;                // prune after forget
};

struct HooksConfig {
  std::string before;              // "" = none; run by /bin/sh -c
  std::string after;               // "" = none
  int64_t timeout_seconds = 3600;  // per hook
};

// A command whose stdout becomes the file `path` of the snapshot.
struct DumpConfig {
  std::string path;     // absolute, unique within the job
  std::string command;  // run by /bin/sh -c
};

struct JobConfig {
  std::string name;                // [a-z0-9_-]{1,64}, unique
  std::string repo;                // https://HOST:PORT/TENANT/REPO or an absolute path
  std::string password_file;       // absolute
  std::string token_file;          // absolute; required for an https repo, else optional
  std::string cacert;              // absolute or ""
  std::vector<std::string> paths;  // absolute; at least one unless dumps exist
  std::vector<std::string> exclude;
  std::vector<std::string> exclude_file;        // absolute
  std::vector<std::string> exclude_if_present;  // file names, no '/'
  bool exclude_caches = false;
  bool one_file_system = false;
  std::vector<std::string> tags;
  std::optional<int> compression;            // 1..19; else the repository's default
  CalendarSpec schedule;                     // .text is what the file says
  std::optional<uint64_t> limit_upload;      // overrides [agent] limit_upload
  std::optional<RetentionConfig> retention;  // absent: no forget after backups
  HooksConfig hooks;
  std::vector<DumpConfig> dumps;
};

struct AgentConfig {
  std::string origin;  // the file it came from
  AgentSettings agent;
  std::vector<JobConfig> jobs;  // in file order; may be empty

  const JobConfig* FindJob(std::string_view name) const;  // nullptr if none
};

// Reads and validates `path`. kNotFound / kPermissionDenied / kIo if it
// cannot be read; kInvalidArgument with one line naming the file, line, job
// and key for anything wrong in it:
//   "/etc/coffre/agent.conf line 12: job 'server': schedule: calendar
//    expression 'daily 25:00': hour '25' is out of range 0..23"
Result<AgentConfig> LoadAgentConfig(const std::string& path);

// The same for text already in memory; `origin` names it in errors.
// Schedules are checked to elapse within 10 years of the current time.
Result<AgentConfig> ParseAgentConfig(std::string_view toml, std::string_view origin);

}  // namespace coffre::daemon
