// Forget's duration syntax for --keep-within: units, sums, refusals.
#include "agent/maintain/forget.h"

#include <catch2/catch.hpp>

namespace coffre::maintain {
namespace {

constexpr int64_t kHour = int64_t{3600} * 1'000'000'000;

TEST_CASE("ParseRetentionDuration reads hours to years and sums", "[unit][retention]") {
  CHECK(*ParseRetentionDuration("36h") == 36 * kHour);
  CHECK(*ParseRetentionDuration("7d") == 7 * 24 * kHour);
  CHECK(*ParseRetentionDuration("2w") == 14 * 24 * kHour);
  CHECK(*ParseRetentionDuration("6m") == 180 * 24 * kHour);
  CHECK(*ParseRetentionDuration("1y6m") == (365 + 180) * 24 * kHour);
  for (const char* bad : {"", "7", "d", "7x", "-1d", "1.5d", "7d ", "999999999y"}) {
    INFO(bad);
    CHECK_FALSE(ParseRetentionDuration(bad));
  }
}

// Found by tests/fuzz/agent_config_fuzz's target (keep_within = "100000y"):
// n * unit overflowed int64_t, undefined behaviour and a wrapped duration.
TEST_CASE("ParseRetentionDuration refuses a duration past 292 years instead of overflowing",
          "[unit][retention]") {
  CHECK(*ParseRetentionDuration("292y") == 292 * 365 * 24 * kHour);
  for (const char* too_long : {"293y", "100000y", "200y200y", "100000h100000y"}) {
    INFO(too_long);
    auto parsed = ParseRetentionDuration(too_long);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().message().find("too long") != std::string::npos);
  }
}

}  // namespace
}  // namespace coffre::maintain
