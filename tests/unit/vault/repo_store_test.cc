// RepoStore: repositories per tenant under one folder, names checked before
// any path is built, and uploads cut by a crash cleaned only when asked.
#include "vault/store/repo_store.h"

#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace coffre::vault {
namespace {

namespace fs = std::filesystem;

TEST_CASE("RepoStore creates, finds and refuses repositories by name", "[unit][vault]") {
  testing::TempDir dir;
  auto store = RepoStore::Open(dir.Sub("repos"));
  REQUIRE(store);
  REQUIRE((*store)->CreateRepo("acme", "main").ok());
  CHECK((*store)->CreateRepo("acme", "main").code() == ErrorCode::kAlreadyExists);
  CHECK((*store)->Find("acme", "main"));
  CHECK((*store)->Find("acme", "other").error().code() == ErrorCode::kNotFound);
  CHECK((*store)->Find("other", "main").error().code() == ErrorCode::kNotFound);
  for (const char* bad : {"..", "../acme", "a/b", "", "A", "-x"}) {
    INFO(bad);
    CHECK((*store)->CreateRepo(bad, "main").code() == ErrorCode::kInvalidArgument);
    CHECK((*store)->CreateRepo("acme", bad).code() == ErrorCode::kInvalidArgument);
    CHECK((*store)->Find("acme", bad).error().code() == ErrorCode::kInvalidArgument);
  }
  CHECK(fs::exists(dir.Sub("repos/acme/main/data")));
}

TEST_CASE("RepoStore removes cut uploads only when its server asks", "[unit][vault]") {
  testing::TempDir dir;
  auto store = RepoStore::Open(dir.Sub("repos"));
  REQUIRE(store);
  REQUIRE((*store)->CreateRepo("acme", "a").ok());
  testing::WriteFile(dir.Sub("repos/acme/a/tmp/partial"), "half");
  // A scan (what `tenant list` does beside a running server) leaves it: it
  // may be an upload in progress.
  uint64_t counted = 0;
  REQUIRE((*store)->Scan([&](const std::string&, uint64_t bytes) { counted += bytes; }).ok());
  CHECK(counted == 0);
  CHECK(fs::exists(dir.Sub("repos/acme/a/tmp/partial")));
  REQUIRE((*store)->RemoveTemporaries().ok());
  CHECK(fs::is_empty(dir.Sub("repos/acme/a/tmp")));
}

}  // namespace
}  // namespace coffre::vault
