// Retention: hand-worked tables of which snapshots each --keep-* rule keeps,
// per host-and-paths group, with ISO weeks across a year boundary, and the
// refusal of a policy that would forget everything.
#include "agent/maintain/retention_policy.h"

#include <ctime>
#include <map>

#include <catch2/catch.hpp>

namespace coffre::maintain {
namespace {

// "2026-11-28 10:00" (UTC) -> ns.
int64_t At(const char* when) {
  std::tm t{};
  REQUIRE(strptime(when, "%Y-%m-%d %H:%M", &t) != nullptr);
  return static_cast<int64_t>(timegm(&t)) * 1'000'000'000;
}

SnapshotFacts Snap(const std::string& id, const char* when, const std::string& host = "srv",
                   std::vector<std::string> tags = {}) {
  return {id, At(when), host, {"/srv"}, std::move(tags)};
}

// id -> reasons ("" when forgotten), joined with commas.
std::map<std::string, std::string> Decide(const std::vector<SnapshotFacts>& snaps,
                                          const RetentionPolicy& policy) {
  auto decisions = ApplyRetention(snaps, policy, UtcCalendar);
  REQUIRE(decisions);
  std::map<std::string, std::string> out;
  for (const RetentionDecision& d : *decisions) {
    std::string reasons;
    for (const std::string& r : d.reasons) reasons += (reasons.empty() ? "" : ",") + r;
    CHECK(d.keep == !reasons.empty());
    out[d.id] = reasons;
  }
  return out;
}

// A function, not a global: At() asserts, which Catch allows only in a test.
std::vector<SnapshotFacts> Week() {
  return {
      Snap("a", "2026-11-28 10:00"), Snap("b", "2026-11-28 08:00"),
      Snap("c", "2026-11-27 23:00"), Snap("d", "2026-11-27 01:00"),
      Snap("e", "2026-11-26 12:00"), Snap("f", "2026-11-20 12:00"),
      Snap("g", "2026-10-31 12:00"), Snap("h", "2025-12-31 12:00"),
  };
}

TEST_CASE("keep-last keeps the newest, whatever the order given", "[unit][retention]") {
  RetentionPolicy p;
  p.keep_last = 3;
  const auto week = Week();
  std::vector<SnapshotFacts> shuffled = {week[4], week[0], week[7], week[2], week[1]};
  auto got = Decide(shuffled, p);
  CHECK(got == std::map<std::string, std::string>{
                   {"a", "last"}, {"b", "last"}, {"c", "last"}, {"e", ""}, {"h", ""}});
}

TEST_CASE("keep-daily keeps the newest snapshot of each of the last N days", "[unit][retention]") {
  RetentionPolicy p;
  p.keep_daily = 3;
  auto got = Decide(Week(), p);
  CHECK(got == std::map<std::string, std::string>{{"a", "daily"}, {"b", ""}, {"c", "daily"},
                                                  {"d", ""}, {"e", "daily"}, {"f", ""},
                                                  {"g", ""}, {"h", ""}});
}

TEST_CASE("keep-monthly and keep-yearly together, with every reason", "[unit][retention]") {
  RetentionPolicy p;
  p.keep_monthly = 3;
  p.keep_yearly = 2;
  auto got = Decide(Week(), p);
  // Months: 2026-11 (a), 2026-10 (g), 2025-12 (h). Years: 2026 (a), 2025 (h).
  CHECK(got == std::map<std::string, std::string>{
                   {"a", "monthly,yearly"}, {"b", ""}, {"c", ""}, {"d", ""}, {"e", ""},
                   {"f", ""}, {"g", "monthly"}, {"h", "monthly,yearly"}});
}

TEST_CASE("keep-weekly uses ISO weeks, across the turn of the year", "[unit][retention]") {
  // 2026-12-31 is a Thursday and 2027-01-03 a Sunday: both in ISO week
  // 2026-W53. 2027-01-04, a Monday, starts 2027-W01.
  std::vector<SnapshotFacts> snaps = {Snap("mon", "2027-01-04 09:00"),
                                      Snap("sun", "2027-01-03 09:00"),
                                      Snap("thu", "2026-12-31 09:00"),
                                      Snap("prev", "2026-12-27 09:00")};  // Sunday, W52
  RetentionPolicy p;
  p.keep_weekly = 3;
  auto got = Decide(snaps, p);
  CHECK(got == std::map<std::string, std::string>{
                   {"mon", "weekly"}, {"sun", "weekly"}, {"thu", ""}, {"prev", "weekly"}});
}

TEST_CASE("keep-within counts back from the newest snapshot; keep-tag keeps tagged ones",
          "[unit][retention]") {
  std::vector<SnapshotFacts> snaps = {Snap("a", "2026-11-28 10:00"),
                                      Snap("b", "2026-11-26 10:01"),
                                      Snap("c", "2026-11-26 10:00"),
                                      Snap("d", "2026-01-01 00:00", "srv", {"before-upgrade"})};
  RetentionPolicy p;
  p.keep_within_ns = int64_t{2} * 24 * 3600 * 1'000'000'000;
  p.keep_tags = {"before-upgrade"};
  auto got = Decide(snaps, p);
  CHECK(got == std::map<std::string, std::string>{
                   {"a", "within"}, {"b", "within"}, {"c", ""}, {"d", "tag:before-upgrade"}});
}

TEST_CASE("each host and paths group is judged on its own", "[unit][retention]") {
  std::vector<SnapshotFacts> snaps = {Snap("a1", "2026-11-28 10:00", "alpha"),
                                      Snap("a2", "2026-11-27 10:00", "alpha"),
                                      Snap("b1", "2026-11-01 10:00", "beta"),
                                      Snap("b2", "2026-10-01 10:00", "beta")};
  SnapshotFacts other_paths = Snap("a3", "2026-11-20 10:00", "alpha");
  other_paths.paths = {"/etc"};
  snaps.push_back(other_paths);
  RetentionPolicy p;
  p.keep_last = 1;
  auto got = Decide(snaps, p);
  CHECK(got == std::map<std::string, std::string>{
                   {"a1", "last"}, {"a2", ""}, {"b1", "last"}, {"b2", ""}, {"a3", "last"}});
}

TEST_CASE("a policy without rules or with a negative count is refused", "[unit][retention]") {
  auto empty = ApplyRetention(Week(), RetentionPolicy{}, UtcCalendar);
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code() == ErrorCode::kInvalidArgument);
  RetentionPolicy negative;
  negative.keep_daily = -1;
  CHECK_FALSE(ApplyRetention(Week(), negative, UtcCalendar));
  RetentionPolicy fine;
  fine.keep_last = 1;
  CHECK(ApplyRetention({}, fine, UtcCalendar)->empty());
}

}  // namespace
}  // namespace coffre::maintain
