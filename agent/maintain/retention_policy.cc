#include "agent/maintain/retention_policy.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <utility>

namespace coffre::maintain {

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

// A calendar bucket as a comparable number: two snapshots share a bucket
// exactly when their keys are equal.
using BucketFn = std::function<int64_t(const std::tm&)>;

int64_t IsoWeek(const std::tm& t) {
  // ISO 8601: weeks start on Monday; week 1 holds the year's first Thursday.
  const int weekday = (t.tm_wday + 6) % 7;  // Monday = 0
  const int thursday_yday = t.tm_yday - weekday + 3;
  int year = t.tm_year + 1900;
  int yday = thursday_yday;
  auto days_in = [](int y) { return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 366 : 365; };
  if (yday < 0) {
    --year;
    yday += days_in(year);
  } else if (yday >= days_in(year)) {
    yday -= days_in(year);
    ++year;
  }
  return int64_t{year} * 100 + yday / 7 + 1;
}

struct BucketRule {
  const char* name;
  int count;
  BucketFn key;
};

}  // namespace

bool RetentionPolicy::Empty() const {
  return keep_last == 0 && keep_hourly == 0 && keep_daily == 0 && keep_weekly == 0 &&
         keep_monthly == 0 && keep_yearly == 0 && keep_within_ns == 0 && keep_tags.empty();
}

std::tm LocalCalendar(int64_t seconds) {
  std::tm out{};
  const time_t t = static_cast<time_t>(seconds);
  localtime_r(&t, &out);
  return out;
}

std::tm UtcCalendar(int64_t seconds) {
  std::tm out{};
  const time_t t = static_cast<time_t>(seconds);
  gmtime_r(&t, &out);
  return out;
}

Result<std::vector<RetentionDecision>> ApplyRetention(
    const std::vector<SnapshotFacts>& snapshots, const RetentionPolicy& policy,
    const std::function<std::tm(int64_t)>& calendar) {
  if (policy.Empty())
    return Err(InvalidArgumentError("no --keep-* rule given: that would forget every snapshot"));
  for (int n : {policy.keep_last, policy.keep_hourly, policy.keep_daily, policy.keep_weekly,
                policy.keep_monthly, policy.keep_yearly}) {
    if (n < 0) return Err(InvalidArgumentError("a --keep-* count cannot be negative"));
  }
  if (policy.keep_within_ns < 0) return Err(InvalidArgumentError("--keep-within cannot be negative"));

  const BucketRule rules[] = {
      {"hourly", policy.keep_hourly,
       [](const std::tm& t) {
         return ((int64_t{t.tm_year} * 400 + t.tm_yday) * 24) + t.tm_hour;
       }},
      {"daily", policy.keep_daily,
       [](const std::tm& t) { return int64_t{t.tm_year} * 400 + t.tm_yday; }},
      {"weekly", policy.keep_weekly, IsoWeek},
      {"monthly", policy.keep_monthly,
       [](const std::tm& t) { return int64_t{t.tm_year} * 12 + t.tm_mon; }},
      {"yearly", policy.keep_yearly, [](const std::tm& t) { return int64_t{t.tm_year}; }},
  };

  std::vector<RetentionDecision> out(snapshots.size());
  // Groups of the same host and paths, each newest first.
  std::map<std::pair<std::string, std::vector<std::string>>, std::vector<size_t>> groups;
  for (size_t i = 0; i < snapshots.size(); ++i) {
    out[i].id = snapshots[i].id;
    groups[{snapshots[i].host, snapshots[i].paths}].push_back(i);
  }
  for (auto& [key, members] : groups) {
    std::stable_sort(members.begin(), members.end(), [&](size_t a, size_t b) {
      return snapshots[a].time_ns > snapshots[b].time_ns;
    });
    const int64_t newest = snapshots[members.front()].time_ns;
    int last_left = policy.keep_last;
    std::vector<int> left;
    std::vector<std::optional<int64_t>> previous(std::size(rules));
    for (const BucketRule& rule : rules) left.push_back(rule.count);
    for (size_t index : members) {
      const SnapshotFacts& s = snapshots[index];
      RetentionDecision& d = out[index];
      if (last_left > 0) {
        --last_left;
        d.reasons.push_back("last");
      }
      const std::tm when = calendar(s.time_ns / kNsPerSecond);
      for (size_t r = 0; r < std::size(rules); ++r) {
        if (left[r] == 0) continue;
        const int64_t bucket = rules[r].key(when);
        if (previous[r] && *previous[r] == bucket) continue;  // a newer one holds it
        previous[r] = bucket;
        --left[r];
        d.reasons.push_back(rules[r].name);
      }
      if (policy.keep_within_ns > 0 && newest - s.time_ns < policy.keep_within_ns)
        d.reasons.push_back("within");
      for (const std::string& tag : policy.keep_tags) {
        if (std::find(s.tags.begin(), s.tags.end(), tag) != s.tags.end())
          d.reasons.push_back("tag:" + tag);
      }
      d.keep = !d.reasons.empty();
    }
  }
  return out;
}

Result<int64_t> ParseRetentionDuration(const std::string& text) {
  constexpr int64_t kHour = int64_t{3600} * 1'000'000'000;
  auto bad = [&] {
    std::string message = "'";
    message.append(text).append("' is not a duration (examples: 36h, 7d, 2w, 6m, 1y6m)");
    return Err(InvalidArgumentError(std::move(message)));
  };
  if (text.empty()) return bad();
  int64_t total = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  while (p < end) {
    int64_t n = 0;
    auto [next, ec] = std::from_chars(p, end, n);
    if (ec != std::errc() || next == end || n < 0 || n > 100000) return bad();
    int64_t unit = 0;
    switch (*next) {
      case 'h': unit = kHour; break;
      case 'd': unit = 24 * kHour; break;
      case 'w': unit = 7 * 24 * kHour; break;
      case 'm': unit = 30 * 24 * kHour; break;
      case 'y': unit = 365 * 24 * kHour; break;
      default: return bad();
    }
    // 2^63 ns is about 292 years: "300y" or "200y200y" would overflow.
    int64_t part = 0;
    if (__builtin_mul_overflow(n, unit, &part) || __builtin_add_overflow(total, part, &total)) {
      return Err(InvalidArgumentError("'" + text +
                                      "' is too long a duration (at most 292 years)"));
    }
    p = next + 1;
  }
  return total;
}

}  // namespace coffre::maintain
