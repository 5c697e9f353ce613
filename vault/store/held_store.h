// HeldStore: the deletion hold (docs/vault.md, "Deletion hold"). Under a
// tenant's hold, a delete does not remove an object: it moves it into the
// held area of its repository for that UTC day (RepoStore::OpenHeld), out
// of every request's reach, where it still counts in the tenant's usage.
// The provider lists held objects and puts them back (`coffre-vault
// held`), and they are removed for good only once the hold has passed.
// Thread-safety: all methods may be called concurrently; a Restore or a
// Purge of an area that a Hide is moving into may leave that one object
// held (it is found by the next listing).
#pragma once

#include <cstdint>
#include <utility>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/storage/backend.h"
#include "vault/metrics/metrics.h"
#include "vault/store/repo_store.h"
#include "vault/store/usage_ledger.h"
#include "vault/tenant/registry.h"

namespace coffre::vault {

// "YYYYMMDD", the UTC day of `wall_ns` (nanoseconds since the epoch).
std::string UtcDay(int64_t wall_ns);
// The first day on which what was deleted on `day` may be removed for good
// under a hold of `hold_days`: day + hold_days + 1, so an object is kept at
// least hold_days whole days. "" for a malformed day.
std::string PurgeDay(const std::string& day, int hold_days);

struct HeldArea {
  std::string repo;
  std::string day;  // "YYYYMMDD", UTC, when its objects were deleted
  uint64_t objects = 0;
  uint64_t bytes = 0;
};

struct HeldCounts {
  uint64_t objects = 0;
  uint64_t bytes = 0;
};

class HeldStore {
 public:
  // All outlive the store; `metrics` (may be null) counts ledger errors.
  HeldStore(RepoStore* store, UsageLedger* usage, Metrics* metrics = nullptr)
      : store_(store), usage_(usage), metrics_(metrics) {}

  // Moves `object` (`size` bytes) of the tenant's repository into the
  // held area of `wall_ns`'s day: copied there (create-only), then
  // removed from the repository. Its bytes stay counted, unless the area
  // held the same object already. Errors: the storage's; an error leaves
  // the object in the repository (and perhaps its copy held as well).
  Status Hide(const std::string& tenant, storage::Backend& repo_backend, const std::string& repo,
              const storage::ObjectName& object, uint64_t size, int64_t wall_ns);

  // The tenant's held areas, with what each holds.
  Result<std::vector<HeldArea>> List(const std::string& tenant);

  // Moves back into `repo` every object held from it on `since_day`
  // ("YYYYMMDD"; "": every day) or later, and removes the emptied areas.
  // An object the repository has again is only removed from the area.
  // kNotFound if the repository does not exist any more.
  Result<HeldCounts> Restore(const std::string& tenant, const std::string& repo,
                             const std::string& since_day);

  // Removes for good what the tenant's areas hold once its hold has passed
  // (PurgeDay of each area's day is today, in `wall_ns`, or before), and
  // gives the bytes back to its quota.
  Result<HeldCounts> Purge(const std::string& tenant, int hold_days, int64_t wall_ns);
  // Purge for every tenant of `registry`, with its own hold. The first
  // error is returned after every tenant was tried.
  Result<HeldCounts> PurgeAll(const Registry& registry, int64_t wall_ns);

 private:
  // Every object of `backend`, every kind, with its size.
  using Held = std::pair<storage::ObjectName, uint64_t>;
  static Result<std::vector<Held>> ListObjects(storage::Backend& backend);
  // Removes every object of the area and the area, releasing their bytes.
  Result<HeldCounts> Drop(const std::string& tenant, const HeldAreaName& area);
  void Release(const std::string& tenant, uint64_t bytes);

  RepoStore* const store_;
  UsageLedger* const usage_;
  Metrics* const metrics_;
};

// Copies `object` (`size` bytes) from `from` to `to` in pieces, so a pack
// is never whole in memory; create-only (kAlreadyExists if `to` has it).
Status CopyObject(storage::Backend& from, storage::Backend& to, const storage::ObjectName& object,
                  uint64_t size);

}  // namespace coffre::vault
