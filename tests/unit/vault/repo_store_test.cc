// RepoStore: repositories per tenant under one folder, names checked before
// any path is built, usage counted at open and kept by Reserve/Release
// against quotas, and uploads cut by a crash cleaned at open.
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

TEST_CASE("RepoStore counts usage at open and holds quotas", "[unit][vault]") {
  testing::TempDir dir;
  {
    auto store = RepoStore::Open(dir.Sub("repos"));
    REQUIRE(store);
    REQUIRE((*store)->CreateRepo("acme", "a").ok());
    REQUIRE((*store)->CreateRepo("acme", "b").ok());
    auto a = (*store)->Find("acme", "a");
    auto b = (*store)->Find("acme", "b");
    REQUIRE((*a)->Save({storage::ObjectKind::kData, std::string(64, 'a')}, Bytes(1000)).ok());
    REQUIRE((*b)->Save({storage::ObjectKind::kIndex, std::string(64, 'b')}, Bytes(24)).ok());
    // An upload cut by a crash.
    testing::WriteFile(dir.Sub("repos/acme/a/tmp/partial"), "half");
  }
  auto store = RepoStore::Open(dir.Sub("repos"));
  REQUIRE(store);
  CHECK((*store)->Usage("acme") == 1024);
  CHECK((*store)->Usage("nobody") == 0);
  CHECK(fs::is_empty(dir.Sub("repos/acme/a/tmp")));

  CHECK((*store)->Reserve("acme", 976, /*quota=*/2000).ok());  // exactly full
  CHECK((*store)->Reserve("acme", 1, 2000).code() == ErrorCode::kNoSpace);
  (*store)->Release("acme", 976);
  CHECK((*store)->Usage("acme") == 1024);
  CHECK((*store)->Reserve("acme", UINT64_MAX, 2000).code() == ErrorCode::kNoSpace);
  CHECK((*store)->Reserve("acme", 1 << 30, /*no quota*/ 0).ok());
  CHECK((*store)->AllUsage().at("acme") == 1024 + (1 << 30));
}

}  // namespace
}  // namespace coffre::vault
