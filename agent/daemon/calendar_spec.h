// CalendarSpec: when a coffre-agent job runs, written as a subset of
// systemd's OnCalendar expressions:
//
//   [WEEKDAYS] [DATE] [TIME] [UTC]     e.g. "Mon..Fri *-*-* 08:00", "*-*-01 03:00:00 UTC"
//   SHORTHAND [TIME] [UTC]             e.g. "daily 02:30" (= "*-*-* 02:30:00")
//
// WEEKDAYS is a list of names (Mon or Monday, any case) and ranges (Mon..Fri).
// DATE is YYYY-MM-DD or MM-DD, TIME is HH:MM or HH:MM:SS (seconds default to
// 00); each number is `*`, a value, or a comma list of `a`, `a..b`, `a/step`,
// `a..b/step` and `*/step`. A missing DATE is `*-*-*`, a missing TIME
// 00:00:00. Shorthands: minutely hourly daily weekly monthly quarterly
// semiannually yearly annually; all but minutely and hourly take a TIME.
// Times are local (the process's TZ) unless UTC is given.
// Thread-safety: plain values and pure functions; NextElapse reads the
// process time zone through localtime_r, so a caller that changes TZ must
// call tzset() before and not concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace coffre::daemon {

// One element of a field's comma list: start, start+step, ... up to stop.
struct CalendarPart {
  int start = 0;
  int stop = 0;           // inclusive
  int step = 1;           // >= 1
  bool open_end = false;  // written "a/step": stop is the field's maximum
};

// The values one field (weekday, year, month, ...) matches.
struct CalendarField {
  std::vector<CalendarPart> parts;  // empty: every value ("*")

  bool Any() const { return parts.empty(); }
  bool Matches(int value) const { return NextFrom(value, value) == value; }
  // The smallest matching value in [value, max], or -1 if there is none.
  int NextFrom(int value, int max) const;
};

struct CalendarSpec {
  std::string text;        // the expression as written (trimmed)
  CalendarField weekdays;  // 0 = Monday .. 6 = Sunday
  CalendarField years;     // 1970..2199
  CalendarField months;    // 1..12
  CalendarField days;      // 1..31; a day a month lacks never matches
  CalendarField hours;     // 0..23
  CalendarField minutes;   // 0..59
  CalendarField seconds;   // 0..59
  bool utc = false;

  // The expression the way `systemd-analyze calendar` prints it:
  // "*-*-* 02:30:00", "Mon..Fri *-*-* 08:00:00", "*-*-* 00/6:00:00 UTC".
  std::string Normalized() const;
};

// Parses `text`. kInvalidArgument with one line naming the expression and
// its bad part ("calendar expression 'daily 25:00': hour '25' is out of
// range 0..23") for anything outside the grammar above.
Result<CalendarSpec> ParseCalendar(std::string_view text);

// The first second strictly after `after_unix_seconds` that `spec` matches,
// or nullopt if none comes within 10 years (e.g. "2020-01-01", "*-02-30").
// In local time, a wall-clock time skipped by a DST change never matches,
// and one that happens twice (the repeated hour in autumn) matches only its
// first occurrence. Cost: a few dozen steps per call (it skips whole
// months, days, hours and minutes), plus at most one step per matching
// second of a DST transition hour.
std::optional<int64_t> NextElapse(const CalendarSpec& spec, int64_t after_unix_seconds);

}  // namespace coffre::daemon
