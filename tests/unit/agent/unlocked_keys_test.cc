// UnlockedKeys, the daemon's keys kept between a job's runs: the second open
// of a repository with the same passphrase reuses them; another passphrase
// or another place derives again; a revoked slot or a repository replaced
// behind the daemon's back falls back to the passphrase, which then decides.
#include "agent/daemon/unlocked_keys.h"

#include <catch2/catch.hpp>

#include "core/storage/backend_wrapper.h"
#include "core/storage/memory_backend.h"
#include "tests/support/fast_init.h"

namespace coffre::daemon {
namespace {

using storage::MemoryBackend;

constexpr crypto::ScryptParams kFastKdf{1024, 8, 1};

struct Place {
  std::shared_ptr<MemoryBackend> memory = std::make_shared<MemoryBackend>();
  UnlockedKeys::BackendOpener opener() {
    return [m = memory]() -> Result<std::unique_ptr<storage::Backend>> {
      return std::unique_ptr<storage::Backend>(std::make_unique<storage::BackendWrapper>(m));
    };
  }
  void Init(std::string_view passphrase) {
    REQUIRE(repo::Repository::Init(std::make_unique<storage::BackendWrapper>(memory),
                                   AsBytes(passphrase), testing::FastInitOptions()));
  }
};

TEST_CASE("the second open of a job's repository reuses the keys the first unlocked",
          "[unit][unlocked_keys]") {
  Place place;
  place.Init("pw");
  UnlockedKeys keys;
  auto first = keys.Open("/srv/repo", place.opener(), AsBytes("pw"));
  REQUIRE(first);
  CHECK(keys.reused() == 0);
  auto second = keys.Open("/srv/repo", place.opener(), AsBytes("pw"));
  REQUIRE(second);
  CHECK(keys.reused() == 1);
  CHECK((*second)->keys().data_key == (*first)->keys().data_key);
  CHECK((*second)->key_in_use() == (*first)->key_in_use());
}

TEST_CASE("another passphrase never rides on remembered keys", "[unit][unlocked_keys]") {
  Place place;
  place.Init("pw");
  UnlockedKeys keys;
  REQUIRE(keys.Open("/srv/repo", place.opener(), AsBytes("pw")));
  auto wrong = keys.Open("/srv/repo", place.opener(), AsBytes("not the passphrase"));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code() == ErrorCode::kAuthFailed);
  CHECK(keys.reused() == 0);
}

TEST_CASE("a passphrase change or a new repository at the place falls back to the passphrase",
          "[unit][unlocked_keys]") {
  Place place;
  place.Init("pw");
  UnlockedKeys keys;
  auto first = keys.Open("/srv/repo", place.opener(), AsBytes("pw"));
  REQUIRE(first);

  const storage::ObjectName opened_slot{storage::ObjectKind::kKey, (*first)->key_in_use().Hex()};
  SECTION("the slot that opened was removed; another opens with the same passphrase") {
    auto added = (*first)->AddKey(AsBytes("pw"), "second", kFastKdf);
    REQUIRE(added);
    REQUIRE(place.memory->Remove(opened_slot).ok());
    auto reopened = keys.Open("/srv/repo", place.opener(), AsBytes("pw"));
    REQUIRE(reopened);
    CHECK(keys.reused() == 0);  // derived again, from the new slot
    CHECK((*reopened)->key_in_use() == *added);
    REQUIRE(keys.Open("/srv/repo", place.opener(), AsBytes("pw")));
    CHECK(keys.reused() == 1);  // and remembered that one
  }
  SECTION("the repository was replaced by another with the same passphrase") {
    Place fresh;
    fresh.Init("pw");
    place.memory = fresh.memory;
    auto reopened = keys.Open("/srv/repo", place.opener(), AsBytes("pw"));
    REQUIRE(reopened);
    CHECK(keys.reused() == 0);
    CHECK((*reopened)->config().repo_id != (*first)->config().repo_id);
  }
  SECTION("the key was revoked and the passphrase opens nothing any more") {
    REQUIRE((*first)->AddKey(AsBytes("another"), "other", kFastKdf));
    REQUIRE(place.memory->Remove(opened_slot).ok());
    auto reopened = keys.Open("/srv/repo", place.opener(), AsBytes("pw"));
    REQUIRE_FALSE(reopened);
    CHECK(reopened.error().code() == ErrorCode::kAuthFailed);
  }
}

}  // namespace
}  // namespace coffre::daemon
