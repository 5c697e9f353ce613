// ObjectService: what the vault does with a tenant's objects, whatever the
// storage under them (any storage::Backend from the RepoStore) and whatever
// the protocol in front: an upload is checked against the tenant's quota,
// hashed as it streams to storage, and committed create-only only if its
// bytes match its name; a delete gives its bytes back to the quota. The HTTP
// handlers (vault/api/) only parse, authorize, call this and answer.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/base/bytes.h"
#include "core/base/status.h"
#include "core/storage/backend.h"
#include "vault/metrics/metrics.h"
#include "vault/store/held_store.h"
#include "vault/store/repo_store.h"
#include "vault/store/usage_ledger.h"
#include "vault/tenant/registry.h"

namespace coffre::vault {

class ObjectService {
 public:
  // All four outlive the service. `location` is this node's ("" : none):
  // a tenant whose placement does not allow it is refused here.
  ObjectService(RepoStore* store, Registry* registry, UsageLedger* usage, Metrics* metrics,
                std::string location = "")
      : store_(store), registry_(registry), usage_(usage), metrics_(metrics),
        location_(std::move(location)), held_(store, usage, metrics) {}

  // Creates an empty repository; kAlreadyExists if there is one;
  // kPermissionDenied "placement: ..." if the tenant may not be stored here.
  Status CreateRepo(const std::string& tenant, const std::string& repo);

  // Feeds an upload's body to `sink`, piece by piece, until it ends or
  // `sink` returns false. Returns false if the body broke off before its end.
  using BodySource = std::function<bool(const std::function<bool(ByteView)>& sink)>;

  enum class PutOutcome {
    kCreated,    // the object is stored now
    kUnchanged,  // it was there already, with these very bytes
  };

  // Stores the `size` bytes that `body` delivers as `object` in the
  // tenant's repository. Errors: kNotFound (no such repository), kNoSpace
  // "quota exceeded", kInvalidArgument (a body shorter or longer than
  // `size`; bytes whose SHA-256 is not the name), kAlreadyExists (another
  // config than the repository's), kPermissionDenied (the tenant's
  // placement excludes this node's location), or the storage's own error. Whatever
  // fails leaves nothing stored and the quota as it was.
  Result<PutOutcome> Put(const std::string& tenant, const std::string& repo,
                         const storage::ObjectName& object, uint64_t size,
                         const BodySource& body);

  // What Put would answer before reading a body of `size` bytes (placement,
  // repository, quota), without storing or reserving anything: for a
  // client that waits for "100 Continue" before it sends the body. The
  // quota is tried by a reservation given back at once.
  Status CheckPut(const std::string& tenant, const std::string& repo,
                  const storage::ObjectName& object, uint64_t size);

  // Removes the object and gives its bytes back to the tenant's quota; or,
  // if the tenant has a deletion hold and the object is not a lock, hides
  // it in the held area of today (HeldStore::Hide), its bytes still
  // counted. `wall_ns` is the time of the delete (tests pick it).
  Status Delete(const std::string& tenant, const std::string& repo,
                const storage::ObjectName& object, int64_t wall_ns);

  // The repository's storage, for reads (stat, ranged load, list); kNotFound
  // if there is none.
  Result<storage::Backend*> Repo(const std::string& tenant, const std::string& repo) {
    return store_->Find(tenant, repo);
  }

 private:
  // Gives back a reservation; a ledger that cannot be reached leaves the
  // count high (counted as a "usage" error) until `usage recount`.
  void Release(const std::string& tenant, uint64_t bytes);
  // kPermissionDenied unless the tenant's placement allows this location.
  Status CheckPlacement(const std::string& tenant) const;

  RepoStore* const store_;
  Registry* const registry_;
  UsageLedger* const usage_;
  Metrics* const metrics_;
  const std::string location_;
  HeldStore held_;
};

}  // namespace coffre::vault
