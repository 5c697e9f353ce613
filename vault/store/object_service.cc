#include "vault/store/object_service.h"

#include <iostream>
#include <memory>

#include "core/base/bytes.h"
#include "core/crypto/hash.h"

namespace coffre::vault {

using storage::ObjectKind;

Result<ObjectService::PutOutcome> ObjectService::Put(const std::string& tenant,
                                                     const std::string& repo,
                                                     const storage::ObjectName& object,
                                                     uint64_t size, const BodySource& body) {
  RETURN_IF_ERROR(CheckPlacement(tenant));
  ASSIGN_OR_RETURN(storage::Backend * backend, store_->Find(tenant, repo));
  const bool exists = backend->Stat(object).has_value();
  // A repeated upload is still read and checked, but costs no quota and
  // writes nothing.
  std::unique_ptr<storage::ObjectWriter> writer;
  if (!exists) {
    auto found = registry_->FindTenant(tenant);
    Status reserved = usage_->Reserve(tenant, size, found ? found->quota_bytes : 0);
    if (!reserved.ok() && reserved.code() != ErrorCode::kNoSpace) {
      // The ledger's own words (a database's host and port) are for the
      // operator's log, not for the client.
      std::cerr << "coffre-vault: usage: " << reserved.message() << std::endl;
      metrics_->CountError("usage");
      return Err(UnavailableError("the vault cannot count usage now; try again"));
    }
    RETURN_IF_ERROR(reserved);
    auto created = backend->NewWriter(object, size);
    if (!created) {
      Release(tenant, size);
      return Err(created.error());
    }
    writer = std::move(*created);
  }
  // From here on, a failure discards the writer's temporary object and
  // gives the reservation back.
  auto fail = [&](Status status) -> Result<PutOutcome> {
    writer.reset();
    if (!exists) Release(tenant, size);
    return Err(std::move(status));
  };

  crypto::Sha256Stream hash;
  Bytes config_bytes;  // a config's name is not its hash: it is compared
  uint64_t received = 0;
  Status write_status;
  const bool complete = body([&](ByteView piece) {
    received += piece.size();
    if (received > size) return false;
    hash.Update(piece);
    if (object.kind == ObjectKind::kConfig)
      config_bytes.insert(config_bytes.end(), piece.begin(), piece.end());
    if (writer) write_status = writer->Write(piece);
    return write_status.ok();
  });
  if (!write_status.ok()) return fail(write_status);
  if (!complete || received != size)
    return fail(InvalidArgumentError("body shorter or longer than Content-Length"));

  if (object.kind == ObjectKind::kConfig) {
    if (exists) {
      auto stored = backend->Load(object, 0, 0);
      if (!stored || *stored != config_bytes)
        return fail(AlreadyExistsError("the repository already has another config"));
    }
  } else if (const std::string digest = HexEncode(hash.Finish()); digest != object.name) {
    metrics_->CountError("integrity");
    return fail(InvalidArgumentError("content does not match its id (SHA-256 " + digest + ")"));
  }
  if (exists) return PutOutcome::kUnchanged;

  Status committed = writer->Commit();
  if (committed.code() == ErrorCode::kAlreadyExists) {  // a concurrent upload won
    Release(tenant, size);
    if (object.kind == ObjectKind::kConfig) {
      auto stored = backend->Load(object, 0, 0);
      if (!stored || *stored != config_bytes)
        return Err(AlreadyExistsError("the repository already has another config"));
    }
    return PutOutcome::kUnchanged;
  }
  if (!committed.ok()) {
    writer.reset();
    // A commit whose answer was lost may have stored the object: then its
    // bytes stay counted (a count too high is mended by a recount; one too
    // low would let the quota be passed).
    auto there = backend->Stat(object);
    if (!there || *there != size) Release(tenant, size);
    return Err(committed);
  }
  return PutOutcome::kCreated;
}

Status ObjectService::Delete(const std::string& tenant, const std::string& repo,
                             const storage::ObjectName& object, int64_t wall_ns) {
  ASSIGN_OR_RETURN(storage::Backend * backend, store_->Find(tenant, repo));
  ASSIGN_OR_RETURN(uint64_t size, backend->Stat(object));
  // Locks hold no data and a backup removes its own: they go at once.
  if (object.kind != storage::ObjectKind::kLock) {
    ASSIGN_OR_RETURN(Tenant t, registry_->FindTenant(tenant));
    if (t.hold_days > 0) return held_.Hide(tenant, *backend, repo, object, size, wall_ns);
  }
  RETURN_IF_ERROR(backend->Remove(object));
  Release(tenant, size);
  return Status::Ok();
}

Status ObjectService::CheckPut(const std::string& tenant, const std::string& repo,
                               const storage::ObjectName& object, uint64_t size) {
  RETURN_IF_ERROR(CheckPlacement(tenant));
  ASSIGN_OR_RETURN(storage::Backend * backend, store_->Find(tenant, repo));
  if (backend->Stat(object).has_value()) return Status::Ok();  // costs no quota
  auto found = registry_->FindTenant(tenant);
  Status reserved = usage_->Reserve(tenant, size, found ? found->quota_bytes : 0);
  if (reserved.code() == ErrorCode::kNoSpace) return reserved;
  // A ledger that cannot be reached now is Put's to report.
  if (reserved.ok()) Release(tenant, size);
  return Status::Ok();
}

Status ObjectService::CreateRepo(const std::string& tenant, const std::string& repo) {
  RETURN_IF_ERROR(CheckPlacement(tenant));
  return store_->CreateRepo(tenant, repo);
}

Status ObjectService::CheckPlacement(const std::string& tenant) const {
  auto found = registry_->FindTenant(tenant);
  if (!found || found->placement.Allows(location_)) return Status::Ok();
  return PermissionDeniedError("placement: tenant '" + tenant + "' may be stored only in " +
                               found->placement.Describe() + ", and this vault is in " +
                               (location_.empty() ? "no declared location" : location_));
}

void ObjectService::Release(const std::string& tenant, uint64_t bytes) {
  if (!usage_->Release(tenant, bytes).ok()) metrics_->CountError("usage");
}

}  // namespace coffre::vault
