// Calendar expressions: hand-worked next elapses (daily, steps, weekdays,
// month ends, leap days), the DST days of Europe/Paris, systemd's normalized
// form, and the one-line refusals of bad expressions.
#include "agent/daemon/calendar_spec.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "tests/support/scoped_tz.h"

namespace coffre::daemon {
namespace {

using testing::ScopedTz;

// "2026-11-29 02:30:00" read as UTC -> Unix seconds.
int64_t Utc(const char* when) {
  std::tm t{};
  REQUIRE(strptime(when, "%Y-%m-%d %H:%M:%S", &t) != nullptr);
  return static_cast<int64_t>(timegm(&t));
}

CalendarSpec Parse(const char* text) {
  auto spec = ParseCalendar(text);
  INFO(text);
  REQUIRE(spec);
  return *spec;
}

// The next `n` elapses after `after`, as UTC text.
std::vector<std::string> Elapses(const char* text, const char* after, int n) {
  const CalendarSpec spec = Parse(text);
  std::vector<std::string> out;
  int64_t t = Utc(after);
  for (int i = 0; i < n; ++i) {
    auto next = NextElapse(spec, t);
    REQUIRE(next);
    REQUIRE(*next > t);
    t = *next;
    const time_t tt = static_cast<time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
    out.push_back(buf);
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST_CASE("daily 02:30 elapses the same day before 02:30, the next day from 02:30 on",
          "[unit][calendar]") {
  ScopedTz tz("UTC");
  const CalendarSpec spec = Parse("daily 02:30");
  CHECK(NextElapse(spec, Utc("2026-11-29 01:00:00")) == Utc("2026-11-29 02:30:00"));
  CHECK(NextElapse(spec, Utc("2026-11-29 02:29:59")) == Utc("2026-11-29 02:30:00"));
  CHECK(NextElapse(spec, Utc("2026-11-29 02:30:00")) == Utc("2026-11-30 02:30:00"));
  CHECK(NextElapse(spec, Utc("2026-12-31 23:00:00")) == Utc("2027-01-01 02:30:00"));
}

TEST_CASE("an hour step elapses every six hours from midnight", "[unit][calendar]") {
  ScopedTz tz("UTC");
  CHECK(Elapses("*-*-* 00/6:00", "2026-11-29 00:00:00", 5) ==
        Strings{"2026-11-29 06:00:00", "2026-11-29 12:00:00", "2026-11-29 18:00:00",
                "2026-11-30 00:00:00", "2026-11-30 06:00:00"});
  CHECK(Elapses("*-*-* */6:00", "2026-11-29 13:00:00", 1) == Strings{"2026-11-29 18:00:00"});
  CHECK(Elapses("*:0/20:30", "2026-11-29 23:45:00", 2) ==
        Strings{"2026-11-30 00:00:30", "2026-11-30 00:20:30"});
}

TEST_CASE("a weekday range skips the weekend", "[unit][calendar]") {
  ScopedTz tz("UTC");
  // 2026-11-27 is a Friday.
  CHECK(Elapses("Mon..Fri 08:00", "2026-11-26 09:00:00", 3) ==
        Strings{"2026-11-27 08:00:00", "2026-11-30 08:00:00", "2026-12-01 08:00:00"});
  CHECK(Elapses("sat,Sunday 10:00", "2026-11-27 00:00:00", 3) ==
        Strings{"2026-11-28 10:00:00", "2026-11-29 10:00:00", "2026-12-05 10:00:00"});
  CHECK(Elapses("weekly 03:00", "2026-11-27 00:00:00", 2) ==
        Strings{"2026-11-30 03:00:00", "2026-12-07 03:00:00"});
}

TEST_CASE("monthly, quarterly and yearly shorthands elapse at midnight of the first day",
          "[unit][calendar]") {
  ScopedTz tz("UTC");
  CHECK(Elapses("monthly", "2026-11-15 12:00:00", 3) ==
        Strings{"2026-12-01 00:00:00", "2027-01-01 00:00:00", "2027-02-01 00:00:00"});
  CHECK(Elapses("quarterly", "2026-11-15 12:00:00", 2) ==
        Strings{"2027-01-01 00:00:00", "2027-04-01 00:00:00"});
  CHECK(Elapses("annually 04:00", "2026-01-01 04:00:00", 1) == Strings{"2027-01-01 04:00:00"});
}

TEST_CASE("the 31st skips the months that lack one, and Feb 29 waits for a leap year",
          "[unit][calendar]") {
  ScopedTz tz("UTC");
  CHECK(Elapses("*-*-31", "2026-01-31 00:00:00", 4) ==
        Strings{"2026-03-31 00:00:00", "2026-05-31 00:00:00", "2026-07-31 00:00:00",
                "2026-08-31 00:00:00"});
  CHECK(Elapses("*-02-29 12:00", "2026-01-01 00:00:00", 2) ==
        Strings{"2028-02-29 12:00:00", "2032-02-29 12:00:00"});
  // 2100 is not a leap year.
  CHECK(Elapses("*-02-29", "2096-03-01 00:00:00", 1) == Strings{"2104-02-29 00:00:00"});
}

TEST_CASE("an expression that cannot elapse within 10 years gives none", "[unit][calendar]") {
  ScopedTz tz("UTC");
  CHECK_FALSE(NextElapse(Parse("2020-01-01"), Utc("2026-01-01 00:00:00")));
  CHECK_FALSE(NextElapse(Parse("*-02-30"), Utc("2026-01-01 00:00:00")));
  CHECK_FALSE(NextElapse(Parse("2040-01-01"), Utc("2026-01-01 00:00:00")));
  CHECK(NextElapse(Parse("2035-06-01"), Utc("2026-01-01 00:00:00")) == Utc("2035-06-01 00:00:00"));
}

TEST_CASE("UTC expressions ignore the local time zone", "[unit][calendar]") {
  ScopedTz tz("Europe/Paris");
  CHECK(NextElapse(Parse("daily 02:30 UTC"), Utc("2026-11-29 01:00:00")) ==
        Utc("2026-11-29 02:30:00"));
  // In Paris (UTC+1 in winter) local 02:30 is 01:30 UTC.
  CHECK(NextElapse(Parse("daily 02:30"), Utc("2026-11-29 00:00:00")) == Utc("2026-11-29 01:30:00"));
}

TEST_CASE("a local time skipped by the spring DST change does not elapse that day",
          "[unit][calendar]") {
  // Paris, 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).
  ScopedTz tz("Europe/Paris");
  CHECK(Elapses("daily 02:30", "2026-03-28 01:30:00", 1) == Strings{"2026-03-30 00:30:00"});
  // Every hour at :30: 01:30 CET (00:30 UTC), then 03:30 CEST (01:30 UTC).
  CHECK(Elapses("*:30", "2026-03-29 00:00:00", 2) ==
        Strings{"2026-03-29 00:30:00", "2026-03-29 01:30:00"});
  CHECK(Elapses("daily 03:00", "2026-03-28 12:00:00", 1) == Strings{"2026-03-29 01:00:00"});
}

TEST_CASE("a local time repeated by the autumn DST change elapses once", "[unit][calendar]") {
  // Paris, 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 local
  // happens at 00:30 and 01:30 UTC.
  ScopedTz tz("Europe/Paris");
  CHECK(Elapses("daily 02:30", "2026-10-24 12:00:00", 2) ==
        Strings{"2026-10-25 00:30:00", "2026-10-26 01:30:00"});
  // From inside the second 02:xx hour, the repeated 02:30 is not taken again.
  CHECK(Elapses("daily 02:30", "2026-10-25 01:10:00", 1) == Strings{"2026-10-26 01:30:00"});
  CHECK(Elapses("hourly", "2026-10-24 23:30:00", 2) ==
        Strings{"2026-10-25 00:00:00", "2026-10-25 02:00:00"});
}

TEST_CASE("every-second expressions advance one second at a time", "[unit][calendar]") {
  ScopedTz tz("UTC");
  CHECK(Elapses("*:*:*", "2026-12-31 23:59:58", 3) ==
        Strings{"2026-12-31 23:59:59", "2027-01-01 00:00:00", "2027-01-01 00:00:01"});
}

TEST_CASE("expressions normalize the way systemd prints them", "[unit][calendar]") {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"daily 02:30", "*-*-* 02:30:00"},
      {"  Mon..Fri 08:00 ", "Mon..Fri *-*-* 08:00:00"},
      {"*-*-* */6:00", "*-*-* 00/6:00:00"},
      {"weekly UTC", "Mon *-*-* 00:00:00 UTC"},
      {"Sat,Sun 10:00", "Sat,Sun *-*-* 10:00:00"},
      {"Mon,Tue,Wed,Fri", "Mon..Wed,Fri *-*-* 00:00:00"},
      {"quarterly", "*-01,04,07,10-01 00:00:00"},
      {"minutely", "*-*-* *:*:00"},
      {"hourly", "*-*-* *:00:00"},
      {"2026-*-1..7 3:5:9", "2026-*-01..07 03:05:09"},
      {"12-25", "*-12-25 00:00:00"},
      {"*-*-* 8..18/2:00", "*-*-* 08..18/2:00:00"},
  };
  for (const auto& [text, normalized] : cases) {
    INFO(text);
    const CalendarSpec spec = Parse(text);
    CHECK(spec.Normalized() == normalized);
    // The normal form is itself a valid expression with the same meaning.
    CHECK(Parse(normalized).Normalized() == normalized);
  }
  CHECK(Parse("  daily 02:30 ").text == "daily 02:30");
}

TEST_CASE("bad expressions are refused with one line naming the bad part", "[unit][calendar]") {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"", "is empty"},
      {"daily 25:00", "hour '25' is out of range 0..23"},
      {"*-13-01", "month '13' is out of range 1..12"},
      {"*-*-32", "day '32' is out of range 1..31"},
      {"*-*-* 12:60", "minute '60' is out of range 0..59"},
      {"Mon..Fxi", "'Fxi' is not a weekday"},
      {"Fri..Mon", "weekday range 'Fri..Mon' goes backwards"},
      {"*-*-* 10..8:00", "hour range '10..8' goes backwards"},
      {"hourly 02:00", "'hourly' takes no time"},
      {"daily 02:30 extra", "unexpected 'extra'"},
      {"*-*-* 12:3x", "minute '3x' is not a number"},
      {"*-*-* 00/0:00", "hour step '0' is not a positive number"},
      {"UTC", "nothing before UTC"},
      {"2026-01", "month '2026' is out of range"},
      {"1-2-3-4", "date '1-2-3-4' is not YYYY-MM-DD"},
      {"12:00:00:00", "time '12:00:00:00' is not HH:MM[:SS]"},
      {"12:00 *-*-*", "unexpected '*-*-*'"},
      {"1969-01-01", "year '1969' is out of range 1970..2199"},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    auto spec = ParseCalendar(text);
    REQUIRE_FALSE(spec);
    CHECK(spec.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(spec.error().message(), Catch::Contains(message));
    CHECK_THAT(spec.error().message(),
               Catch::StartsWith(std::string("calendar expression '") + text + "'"));
    CHECK(spec.error().message().find('\n') == std::string::npos);
  }
}

}  // namespace
}  // namespace coffre::daemon
