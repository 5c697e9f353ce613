// Secret files: the first line without its line end (CRLF too); an empty
// first line is refused as an authentication problem; a missing file is
// not found.
#include "agent/util/secret_file.h"

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace coffre {
namespace {

TEST_CASE("a secret file gives its first line without the line end", "[unit][secret_file]") {
  testing::TempDir dir;
  testing::WriteFile(dir.Sub("unix"), "s3cret\nsecond line\n");
  testing::WriteFile(dir.Sub("dos"), "s3cret\r\n");
  testing::WriteFile(dir.Sub("bare"), "s3cret");
  for (const char* name : {"unix", "dos", "bare"}) {
    INFO(name);
    auto secret = ReadSecretFile(dir.Sub(name), "password");
    REQUIRE(secret);
    CHECK(*secret == "s3cret");
  }
}

TEST_CASE("an empty or missing secret file is refused with a clear code", "[unit][secret_file]") {
  testing::TempDir dir;
  testing::WriteFile(dir.Sub("empty"), "\nlater\n");
  auto empty = ReadSecretFile(dir.Sub("empty"), "token");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code() == ErrorCode::kAuthFailed);
  CHECK(empty.error().message().find("token file") != std::string::npos);
  auto missing = ReadSecretFile(dir.Sub("none"), "password");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == ErrorCode::kAuthFailed);
}

}  // namespace
}  // namespace coffre
