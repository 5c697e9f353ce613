// ParseByteSize: bare bytes, binary and decimal units, and refusals.
#include "core/base/byte_size.h"

#include <catch2/catch.hpp>

namespace coffre {
namespace {

TEST_CASE("ParseByteSize reads bytes, binary and decimal units", "[unit][base]") {
  CHECK(*ParseByteSize("0") == 0);
  CHECK(*ParseByteSize("1048576") == 1048576);
  CHECK(*ParseByteSize("512B") == 512);
  CHECK(*ParseByteSize("64KiB") == 65536);
  CHECK(*ParseByteSize("10 GiB") == 10ull << 30);
  CHECK(*ParseByteSize("2TiB") == 2ull << 40);
  CHECK(*ParseByteSize("500MB") == 500'000'000);
  CHECK(*ParseByteSize("3kB") == 3000);
  CHECK(*ParseByteSize("1TB") == 1'000'000'000'000);
}

TEST_CASE("ParseByteSize refuses what is not a size", "[unit][base]") {
  for (const char* text : {"", "GiB", "-1", "1.5GiB", "10 gib", "10GiBs", "ten", "1 2",
                           "18446744073709551616", "17179869184GiB"}) {
    INFO(text);
    auto parsed = ParseByteSize(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace coffre

namespace coffre {
namespace {

TEST_CASE("FormatByteSize gives bytes whole and larger sizes in binary units", "[unit][base]") {
  CHECK(FormatByteSize(0) == "0 B");
  CHECK(FormatByteSize(1023) == "1023 B");
  CHECK(FormatByteSize(1536) == "1.5 KiB");
  CHECK(FormatByteSize(uint64_t{10} << 30) == "10.0 GiB");
}

}  // namespace
}  // namespace coffre
