// NextElapse: the search for the next matching second. It walks wall-clock
// fields from the largest to the smallest, jumping to the next matching
// value of each, so a year is crossed in a few dozen steps; only then is the
// wall-clock time turned into an instant (where DST may remove or repeat it).
#include <ctime>

#include "agent/daemon/calendar_spec.h"

namespace coffre::daemon {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kTenYears = 3653 * kDay;

struct Wall {
  int y, mo, d, h, mi, s;
  bool operator==(const Wall&) const = default;
};

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// 0 = Monday; 1970-01-01 was a Thursday.
int Weekday(const Wall& w) {
  return static_cast<int>(((DaysFromCivil(w.y, w.mo, w.d) + 3) % 7 + 7) % 7);
}

// The wall time read as if it were UTC.
int64_t AsUtc(const Wall& w) {
  return DaysFromCivil(w.y, w.mo, w.d) * kDay + w.h * 3600 + w.mi * 60 + w.s;
}

Wall FromTm(const std::tm& t) {
  return {t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec};
}

Wall WallAt(int64_t t, bool utc, long* gmtoff = nullptr) {
  const time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  if (utc) {
    gmtime_r(&tt, &tm);
  } else {
    localtime_r(&tt, &tm);
  }
  if (gmtoff) *gmtoff = tm.tm_gmtoff;
  return FromTm(tm);
}

void NextMonth(Wall& w) {
  w = w.mo == 12 ? Wall{w.y + 1, 1, 1, 0, 0, 0} : Wall{w.y, w.mo + 1, 1, 0, 0, 0};
}
void NextDay(Wall& w) {
  if (w.d == DaysInMonth(w.y, w.mo)) return NextMonth(w);
  w = {w.y, w.mo, w.d + 1, 0, 0, 0};
}
void NextHour(Wall& w) {
  if (w.h == 23) return NextDay(w);
  w = {w.y, w.mo, w.d, w.h + 1, 0, 0};
}
void NextMinute(Wall& w) {
  if (w.mi == 59) return NextHour(w);
  w = {w.y, w.mo, w.d, w.h, w.mi + 1, 0};
}
void NextSecond(Wall& w) {
  if (w.s == 59) return NextMinute(w);
  ++w.s;
}

// Moves `w` to the smallest wall time >= w whose fields all match; false if
// there is none up to the end of `max_year`. Each step that fails a field
// jumps to the next value of that field with every smaller field reset.
bool NextMatch(const CalendarSpec& c, Wall& w, int max_year) {
  for (;;) {
    if (w.y > max_year) return false;
    const int y = c.years.NextFrom(w.y, max_year);
    if (y < 0) return false;
    if (y != w.y) w = {y, 1, 1, 0, 0, 0};
    const int mo = c.months.NextFrom(w.mo, 12);
    if (mo < 0) {
      w = {w.y + 1, 1, 1, 0, 0, 0};
      continue;
    }
    if (mo != w.mo) w = {w.y, mo, 1, 0, 0, 0};
    const int d = c.days.NextFrom(w.d, DaysInMonth(w.y, w.mo));
    if (d < 0) {
      NextMonth(w);
      continue;
    }
    if (d != w.d) w = {w.y, w.mo, d, 0, 0, 0};
    if (!c.weekdays.Matches(Weekday(w))) {
      NextDay(w);
      continue;
    }
    const int h = c.hours.NextFrom(w.h, 23);
    if (h < 0) {
      NextDay(w);
      continue;
    }
    if (h != w.h) w = {w.y, w.mo, w.d, h, 0, 0};
    const int mi = c.minutes.NextFrom(w.mi, 59);
    if (mi < 0) {
      NextHour(w);
      continue;
    }
    if (mi != w.mi) w = {w.y, w.mo, w.d, w.h, mi, 0};
    const int s = c.seconds.NextFrom(w.s, 59);
    if (s < 0) {
      NextMinute(w);
      continue;
    }
    w.s = s;
    return true;
  }
}

// The earliest instant whose local wall time is `w`, or nullopt if a DST
// change skips it. The instant is u - offset for u = w read as UTC, where
// offset is the zone's UTC offset then; the offsets a day either side cover
// both sides of any transition near w.
std::optional<int64_t> FirstLocalInstant(const Wall& w) {
  const int64_t u = AsUtc(w);
  std::optional<int64_t> best;
  for (int64_t probe : {u - kDay, u, u + kDay}) {
    long offset = 0;
    WallAt(probe, false, &offset);
    const int64_t t = u - offset;
    if (WallAt(t, false) == w && (!best || t < *best)) best = t;
  }
  return best;
}

}  // namespace

std::optional<int64_t> NextElapse(const CalendarSpec& spec, int64_t after_unix_seconds) {
  const int64_t limit = after_unix_seconds + kTenYears;
  Wall w = WallAt(after_unix_seconds + 1, spec.utc);
  const int max_year = w.y + 11;
  while (NextMatch(spec, w, max_year)) {
    const std::optional<int64_t> t = spec.utc ? AsUtc(w) : FirstLocalInstant(w);
    if (t && *t > limit) return std::nullopt;
    // A skipped time, or the second pass of a repeated one: try the next.
    if (t && *t > after_unix_seconds) return t;
    NextSecond(w);
  }
  return std::nullopt;
}

}  // namespace coffre::daemon
