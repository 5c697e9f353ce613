// RetentionPolicy: which snapshots `coffre forget --keep-...` keeps. Each
// group of snapshots of the same host and paths is judged on its own,
// newest first, the way administrators know from restic and borg:
//
// - keep_last N: the N newest;
// - keep_hourly/daily/weekly/monthly/yearly N: the newest snapshot of each
//   of the N most recent hours/days/ISO weeks/months/years that have one;
// - keep_within D: every snapshot less than D older than the group's newest;
// - keep_tags: every snapshot carrying one of these tags.
// A snapshot is kept if any rule keeps it, and every reason is reported.
// Calendar buckets use the calendar a caller gives (local time for the
// CLI, UTC in tests).
// Thread-safety: a plain value and a pure function.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace coffre::maintain {

struct RetentionPolicy {
  int keep_last = 0;
  int keep_hourly = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  int keep_yearly = 0;
  int64_t keep_within_ns = 0;
  std::vector<std::string> keep_tags;

  // True if no rule is set: such a policy would forget everything, and
  // ApplyRetention refuses it.
  bool Empty() const;
};

// What the policy sees of a snapshot.
struct SnapshotFacts {
  std::string id;
  int64_t time_ns = 0;
  std::string host;
  std::vector<std::string> paths;
  std::vector<std::string> tags;
};

struct RetentionDecision {
  std::string id;
  bool keep = false;
  std::vector<std::string> reasons;  // "last", "daily", "within", "tag:monthly-check" ...
};

// Local calendar time of a Unix time in seconds; the default for the CLI.
std::tm LocalCalendar(int64_t seconds);
std::tm UtcCalendar(int64_t seconds);

// One decision per snapshot, in the order given. kInvalidArgument for an
// empty policy or a negative count.
Result<std::vector<RetentionDecision>> ApplyRetention(
    const std::vector<SnapshotFacts>& snapshots, const RetentionPolicy& policy,
    const std::function<std::tm(int64_t)>& calendar = LocalCalendar);

// "36h", "7d", "2w", "6m" (30 days), "1y" (365 days), or sums like "1y6m"
// (keep_within), in nanoseconds. Here rather than in forget.h so that the
// agent's configuration parser needs no repository code.
Result<int64_t> ParseRetentionDuration(const std::string& text);

}  // namespace coffre::maintain
