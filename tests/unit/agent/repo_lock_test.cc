// RepoLock and the index load after it: the listing of locks/ that taking
// a lock makes serves the index load that follows (one listing, not two,
// over the line), still honours the prune plans it saw, and never
// outlives its lock.
#include "agent/repo/repo_lock.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>

#include "agent/repo/repository.h"
#include "core/storage/backend_wrapper.h"
#include "core/storage/memory_backend.h"
#include "tests/support/fast_init.h"

namespace coffre::repo {
namespace {

using storage::ObjectKind;

// Counts the listings and loads of locks/ that reach the storage.
class LockTraffic : public storage::BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  Status List(ObjectKind kind,
              const std::function<Status(const storage::ObjectInfo&)>& fn) override {
    if (kind == ObjectKind::kLock) ++lists;
    return base().List(kind, fn);
  }
  Result<Bytes> Load(const storage::ObjectName& object, uint64_t offset,
                     uint64_t length) override {
    if (object.kind == ObjectKind::kLock) ++loads;
    return base().Load(object, offset, length);
  }
  std::atomic<int> lists{0};
  std::atomic<int> loads{0};
};

struct Fixture {
  std::shared_ptr<storage::MemoryBackend> memory = std::make_shared<storage::MemoryBackend>();
  std::shared_ptr<LockTraffic> traffic = std::make_shared<LockTraffic>(memory);

  Fixture() {
    REQUIRE(Repository::Init(std::make_unique<storage::BackendWrapper>(memory), AsBytes("pw"),
                             testing::FastInitOptions()));
  }
  std::unique_ptr<Repository> Open() {
    auto repo = Repository::Open(std::make_unique<storage::BackendWrapper>(traffic), AsBytes("pw"));
    REQUIRE(repo);
    return std::move(*repo);
  }
  // A plan condemning one pack, as a prune's mark publishes it.
  PackId PublishPlan(Repository& repo) {
    PackId pack = PackId::FromHex(std::string(64, 'a')).value();
    format::PrunePlan plan;
    plan.created_ns = 1;
    plan.visible_by_ns = 2;
    plan.condemned = {pack};
    REQUIRE(repo.SaveLockRecord(plan));
    return pack;
  }
};

TEST_CASE("a backup lists locks/ once: its lock's listing serves the index load",
          "[unit][repo]") {
  Fixture f;
  auto repo = f.Open();
  const PackId condemned = f.PublishPlan(*repo);
  f.traffic->lists = 0;
  f.traffic->loads = 0;

  auto lock = RepoLock::Acquire(*repo, format::LockKind::kBackup);
  REQUIRE(lock);
  REQUIRE(repo->LoadIndex().ok());
  CHECK(f.traffic->lists == 1);
  CHECK(f.traffic->loads == 2);  // the plan and our own lock, once each
  // The plan it saw is honoured as if the load had listed it itself.
  CHECK(repo->condemned().count(condemned) == 1);

  // A second load (a long-lived process) lists again: the kept listing is
  // used once.
  REQUIRE(repo->LoadIndex().ok());
  CHECK(f.traffic->lists == 2);
}

TEST_CASE("a plan published after the lock was taken is seen by a later lock's load",
          "[unit][repo]") {
  Fixture f;
  auto repo = f.Open();
  {
    auto first = RepoLock::Acquire(*repo, format::LockKind::kBackup);
    REQUIRE(first);
    REQUIRE(repo->LoadIndex().ok());
    CHECK(repo->condemned().empty());
  }
  const PackId condemned = f.PublishPlan(*repo);
  auto second = RepoLock::Acquire(*repo, format::LockKind::kBackup);
  REQUIRE(second);
  REQUIRE(repo->LoadIndex().ok());
  CHECK(repo->condemned().count(condemned) == 1);
}

TEST_CASE("a lock's listing does not outlive the lock", "[unit][repo]") {
  Fixture f;
  auto repo = f.Open();
  {
    auto lock = RepoLock::Acquire(*repo, format::LockKind::kRead);
    REQUIRE(lock);
  }  // released before any load
  // A plan published meanwhile must be seen: the load lists locks/ itself.
  const PackId condemned = f.PublishPlan(*repo);
  f.traffic->lists = 0;
  REQUIRE(repo->LoadIndex().ok());
  CHECK(f.traffic->lists == 1);
  CHECK(repo->condemned().count(condemned) == 1);
}

}  // namespace
}  // namespace coffre::repo
