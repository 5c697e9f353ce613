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

}  // namespace
}  // namespace coffre::maintain
