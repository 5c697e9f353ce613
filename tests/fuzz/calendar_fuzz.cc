// Fuzz target: calendar expressions (the `schedule` of an agent job), in the
// time zone Europe/Paris so that DST gaps and repeats are reached. What
// ParseCalendar accepts must print (Normalized) as an expression it accepts
// again and prints alike, and NextElapse must return a second strictly after
// its argument that the expression matches (checked in UTC, where wall time
// is unambiguous).
#include <cstdlib>
#include <ctime>
#include <string_view>

#include "agent/daemon/calendar_spec.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

namespace {

bool MatchesUtc(const daemon::CalendarSpec& spec, int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return spec.weekdays.Matches((tm.tm_wday + 6) % 7) && spec.years.Matches(tm.tm_year + 1900) &&
         spec.months.Matches(tm.tm_mon + 1) && spec.days.Matches(tm.tm_mday) &&
         spec.hours.Matches(tm.tm_hour) && spec.minutes.Matches(tm.tm_min) &&
         spec.seconds.Matches(tm.tm_sec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool tz_set = [] {
    setenv("TZ", "Europe/Paris", 1);
    tzset();
    return true;
  }();
  (void)tz_set;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = daemon::ParseCalendar(text);
  if (!spec) return 0;

  const std::string normalized = spec->Normalized();
  auto again = daemon::ParseCalendar(normalized);
  fuzz::Check(again.has_value(), "ParseCalendar refuses what Normalized printed");
  fuzz::Check(again->Normalized() == normalized, "Normalized is not stable");

  // 2023-11-14, the night before a DST change in Europe (2024-03-31), 2099.
  for (int64_t after : {int64_t{1700000000}, int64_t{1711846000}, int64_t{4070908800}}) {
    const auto next = daemon::NextElapse(*spec, after);
    if (!next) continue;
    fuzz::Check(*next > after, "NextElapse returns a time not after its argument");
    if (spec->utc) fuzz::Check(MatchesUtc(*spec, *next), "NextElapse returns a non-matching time");
  }
  return 0;
}
