// Parsing and printing of calendar expressions; NextElapse lives in
// calendar_elapse.cc.
#include "agent/daemon/calendar_spec.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace coffre::daemon {
namespace {

constexpr std::array<const char*, 7> kWeekdayNames = {"Mon", "Tue", "Wed", "Thu",
                                                      "Fri", "Sat", "Sun"};
constexpr std::array<const char*, 7> kWeekdayLong = {"monday", "tuesday",  "wednesday", "thursday",
                                                     "friday", "saturday", "sunday"};

struct FieldRange {
  const char* name;
  int min;
  int max;
  int width;  // digits when printed
};

constexpr FieldRange kYear{"year", 1970, 2199, 4};
constexpr FieldRange kMonth{"month", 1, 12, 2};
constexpr FieldRange kDay{"day", 1, 31, 2};
constexpr FieldRange kHour{"hour", 0, 23, 2};
constexpr FieldRange kMinute{"minute", 0, 59, 2};
constexpr FieldRange kSecond{"second", 0, 59, 2};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t begin = 0;
  for (;;) {
    size_t end = s.find(sep, begin);
    out.push_back(s.substr(begin, end == std::string_view::npos ? end : end - begin));
    if (end == std::string_view::npos) return out;
    begin = end + 1;
  }
}

// Builds the one-line errors; `text` is the whole expression.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Status Bad(const std::string& what) const {
    return InvalidArgumentError("calendar expression '" + std::string(text_) + "': " + what);
  }

  // A weekday name, -1 if `s` is none.
  static int Weekday(std::string_view s) {
    const std::string l = Lower(s);
    for (int i = 0; i < 7; ++i) {
      if (l == Lower(kWeekdayNames[i]) || l == kWeekdayLong[i]) return i;
    }
    return -1;
  }

  Status ParseWeekdays(std::string_view token, CalendarField* field) const {
    for (std::string_view item : Split(token, ',')) {
      const size_t dots = item.find("..");
      std::string_view a = item.substr(0, dots);
      std::string_view b = dots == std::string_view::npos ? a : item.substr(dots + 2);
      const int from = Weekday(a), to = Weekday(b);
      if (from < 0 || to < 0) {
        return Bad(std::string("'").append(from < 0 ? a : b) + "' is not a weekday (Mon..Sun)");
      }
      if (from > to) return Bad("weekday range '" + std::string(item) + "' goes backwards");
      field->parts.push_back({from, to, 1, false});
    }
    return Status::Ok();
  }

  Status Number(std::string_view s, const FieldRange& r, int* out) const {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
      return Bad(std::string(r.name) + " '" + std::string(s) + "' is not a number");
    }
    if (v < r.min || v > r.max) {
      return Bad(std::string(r.name) + " '" + std::string(s) + "' is out of range " +
                 std::to_string(r.min) + ".." + std::to_string(r.max));
    }
    *out = v;
    return Status::Ok();
  }

  // One number field: "*", or a comma list of a, a..b, a/s, a..b/s, */s.
  Status ParseField(std::string_view s, const FieldRange& r, CalendarField* field) const {
    if (s == "*") return Status::Ok();
    for (std::string_view item : Split(s, ',')) {
      CalendarPart part;
      std::string_view range = item;
      const size_t slash = item.find('/');
      if (slash != std::string_view::npos) {
        range = item.substr(0, slash);
        std::string_view step = item.substr(slash + 1);
        int n = 0;
        auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), n);
        if (step.empty() || ec != std::errc() || end != step.data() + step.size() || n < 1) {
          return Bad(std::string(r.name) + " step '" + std::string(step) +
                     "' is not a positive number");
        }
        part.step = n;
      }
      const size_t dots = range.find("..");
      if (range == "*" && slash != std::string_view::npos) {
        part.start = r.min;
      } else {
        RETURN_IF_ERROR(Number(range.substr(0, dots), r, &part.start));
      }
      if (dots != std::string_view::npos) {
        RETURN_IF_ERROR(Number(range.substr(dots + 2), r, &part.stop));
        if (part.stop < part.start) {
          return Bad(std::string(r.name) + " range '" + std::string(range) + "' goes backwards");
        }
      } else if (slash != std::string_view::npos) {
        part.stop = r.max;
        part.open_end = true;
      } else {
        part.stop = part.start;
      }
      field->parts.push_back(part);
    }
    return Status::Ok();
  }

  Status ParseDate(std::string_view token, CalendarSpec* spec) const {
    std::vector<std::string_view> p = Split(token, '-');
    if (p.size() == 2) p.insert(p.begin(), "*");
    if (p.size() != 3) return Bad("date '" + std::string(token) + "' is not YYYY-MM-DD");
    RETURN_IF_ERROR(ParseField(p[0], kYear, &spec->years));
    RETURN_IF_ERROR(ParseField(p[1], kMonth, &spec->months));
    return ParseField(p[2], kDay, &spec->days);
  }

  Status ParseTime(std::string_view token, CalendarSpec* spec) const {
    std::vector<std::string_view> p = Split(token, ':');
    if (p.size() == 2) p.push_back("00");
    if (p.size() != 3) return Bad("time '" + std::string(token) + "' is not HH:MM[:SS]");
    RETURN_IF_ERROR(ParseField(p[0], kHour, &spec->hours));
    RETURN_IF_ERROR(ParseField(p[1], kMinute, &spec->minutes));
    return ParseField(p[2], kSecond, &spec->seconds);
  }

  // "daily" etc. into the fields of `spec`; false if `word` is no shorthand.
  bool Shorthand(std::string_view word, CalendarSpec* spec, bool* takes_time) const {
    const std::string w = Lower(word);
    const char* date = "*-*-*";
    const char* time = "00:00:00";
    *takes_time = true;
    if (w == "minutely" || w == "hourly") {
      time = w == "minutely" ? "*:*:00" : "*:00:00";
      *takes_time = false;
    } else if (w == "weekly") {
      spec->weekdays.parts.push_back({0, 0, 1, false});
    } else if (w == "monthly") {
      date = "*-*-01";
    } else if (w == "quarterly") {
      date = "*-01,04,07,10-01";
    } else if (w == "semiannually") {
      date = "*-01,07-01";
    } else if (w == "yearly" || w == "annually") {
      date = "*-01-01";
    } else if (w != "daily") {
      return false;
    }
    // The fixed texts above always parse.
    (void)ParseDate(date, spec);
    (void)ParseTime(time, spec);
    return true;
  }

 private:
  std::string_view text_;
};

std::string FormatField(const CalendarField& f, const FieldRange& r) {
  if (f.Any()) return "*";
  std::string out;
  char buf[48];
  for (const CalendarPart& p : f.parts) {
    if (!out.empty()) out += ',';
    std::snprintf(buf, sizeof(buf), "%0*d", r.width, p.start);
    out += buf;
    if (p.stop != p.start && !p.open_end) {
      std::snprintf(buf, sizeof(buf), "..%0*d", r.width, p.stop);
      out += buf;
    }
    if (p.step != 1 || p.open_end) {
      out += '/';
      out += std::to_string(p.step);
    }
  }
  return out;
}

// Weekdays as systemd prints them: runs of three or more as "Mon..Wed".
std::string FormatWeekdays(const CalendarField& f) {
  std::array<bool, 7> on{};
  for (int d = 0; d < 7; ++d) on[d] = f.Matches(d);
  std::string out;
  for (int d = 0; d < 7;) {
    if (!on[d]) {
      ++d;
      continue;
    }
    int end = d;
    while (end + 1 < 7 && on[end + 1]) ++end;
    if (!out.empty()) out += ',';
    out += kWeekdayNames[d];
    if (end - d >= 2) {
      out += std::string("..") + kWeekdayNames[end];
    } else if (end > d) {
      out += std::string(",") + kWeekdayNames[end];
    }
    d = end + 1;
  }
  return out;
}

}  // namespace

int CalendarField::NextFrom(int value, int max) const {
  if (parts.empty()) return value <= max ? value : -1;
  int best = -1;
  for (const CalendarPart& p : parts) {
    int v = p.start;
    if (value > p.start) v = p.start + (value - p.start + p.step - 1) / p.step * p.step;
    if (v <= p.stop && v <= max && (best < 0 || v < best)) best = v;
  }
  return best;
}

std::string CalendarSpec::Normalized() const {
  std::string out;
  if (!weekdays.Any()) out = FormatWeekdays(weekdays) + " ";
  out += FormatField(years, kYear) + "-" + FormatField(months, kMonth) + "-" +
         FormatField(days, kDay) + " " + FormatField(hours, kHour) + ":" +
         FormatField(minutes, kMinute) + ":" + FormatField(seconds, kSecond);
  if (utc) out += " UTC";
  return out;
}

Result<CalendarSpec> ParseCalendar(std::string_view text) {
  std::vector<std::string_view> tokens;
  for (std::string_view t : Split(text, ' ')) {
    for (std::string_view u : Split(t, '\t')) {
      if (!u.empty()) tokens.push_back(u);
    }
  }
  CalendarSpec spec;
  const size_t first = text.find_first_not_of(" \t");
  spec.text = first == std::string_view::npos
                  ? ""
                  : std::string(text.substr(first, text.find_last_not_of(" \t") - first + 1));
  Parser parser(spec.text);
  if (tokens.empty()) return Err(parser.Bad("is empty"));
  if (Lower(tokens.back()) == "utc") {
    spec.utc = true;
    tokens.pop_back();
    if (tokens.empty()) return Err(parser.Bad("has nothing before UTC"));
  }
  size_t i = 0;
  bool takes_time = true;
  if (parser.Shorthand(tokens[0], &spec, &takes_time)) {
    i = 1;
    if (i < tokens.size() && tokens[i].find(':') != std::string_view::npos) {
      if (!takes_time)
        return Err(parser.Bad(std::string("'").append(tokens[0]) + "' takes no time"));
      spec.hours = spec.minutes = spec.seconds = {};
      RETURN_IF_ERROR(parser.ParseTime(tokens[i++], &spec));
    }
  } else {
    if (std::isalpha(static_cast<unsigned char>(tokens[0][0]))) {
      RETURN_IF_ERROR(parser.ParseWeekdays(tokens[i++], &spec.weekdays));
    }
    bool have_date = false, have_time = false;
    for (; i < tokens.size(); ++i) {
      if (!have_date && !have_time && tokens[i].find('-') != std::string_view::npos) {
        RETURN_IF_ERROR(parser.ParseDate(tokens[i], &spec));
        have_date = true;
      } else if (!have_time && tokens[i].find(':') != std::string_view::npos) {
        RETURN_IF_ERROR(parser.ParseTime(tokens[i], &spec));
        have_time = true;
      } else {
        break;
      }
    }
    if (!have_time) (void)parser.ParseTime("00:00:00", &spec);
  }
  if (i < tokens.size()) {
    return Err(parser.Bad("unexpected '" + std::string(tokens[i]) + "'"));
  }
  return spec;
}

}  // namespace coffre::daemon
