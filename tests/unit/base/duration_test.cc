#include "core/base/duration.h"

#include <catch2/catch.hpp>

namespace coffre {
namespace {

TEST_CASE("ParseDuration reads seconds, minutes, hours, days and weeks", "[unit][duration]") {
  CHECK(ParseDuration("0").value().count() == 0);
  CHECK(ParseDuration("45").value().count() == 45);
  CHECK(ParseDuration("90s").value().count() == 90);
  CHECK(ParseDuration("30m").value().count() == 1800);
  CHECK(ParseDuration("1h30m").value().count() == 5400);
  CHECK(ParseDuration("2d").value().count() == 172800);
  CHECK(ParseDuration("1w2d3h4m5s").value().count() == 7 * 86400 + 2 * 86400 + 3 * 3600 + 245);
}

TEST_CASE("ParseDuration refuses what it cannot read exactly", "[unit][duration]") {
  for (const char* bad : {"", "m", "1x", "1h1h", "30m1h", "1.5h", "-1s", "1h 30m", "5y",
                          "99999999999999999999", "40000d"}) {
    INFO(bad);
    auto parsed = ParseDuration(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace coffre
