// Repository: the index in memory, the index objects, orphan and condemned
// packs, and the lock records that prune's protocol uses (docs/prune.md).
#include <set>

#include "agent/repo/repository.h"
#include "core/format/pack_reader.h"
#include "core/format/sealed_object.h"

namespace coffre::repo {

using storage::ObjectKind;
using storage::ObjectName;

namespace {

constexpr std::string_view kIndexMagic = "CFIX";

// An object deleted between a listing and its load was removed by a
// concurrent prune or forget: the reader acts as if it had not been listed.
bool Vanished(const Status& s) { return s.code() == ErrorCode::kNotFound; }

}  // namespace

Result<std::vector<LockListing>> Repository::ListLockRecords(
    const std::function<void(const std::string&)>& warn) {
  ASSIGN_OR_RETURN(std::vector<std::string> names,
                   storage::ListNames(*backend_, ObjectKind::kLock));
  std::vector<LockListing> out;
  for (const std::string& name : names) {
    auto sealed = backend_->Load({ObjectKind::kLock, name});
    if (!sealed && Vanished(sealed.error())) continue;
    if (!sealed && sealed.error().code() != ErrorCode::kCorruption) return Err(sealed.error());
    auto id = ObjectId::FromHex(name);
    Result<format::LockRecord> record = Err(CorruptionError("name is not an id"));
    if (sealed && id) {
      auto opened =
          format::OpenObject(keys_.data_key, format::kLockMagic, format::kLockVersion, *sealed);
      record = opened ? format::DecodeLockRecord(opened->plaintext) : Err(opened.error());
    }
    if (!record) {
      if (warn) warn("lock " + name + ": " + record.error().message());
      continue;
    }
    out.push_back({*id, std::move(*record)});
  }
  return out;
}

Result<ObjectId> Repository::SaveLockRecord(const format::LockRecord& record) {
  return SaveSealed(ObjectKind::kLock, format::kLockMagic, format::kLockVersion,
                    format::EncodeLockRecord(record));
}

Result<ObjectId> Repository::SaveIndex(const format::IndexFile& file) {
  return SaveSealed(ObjectKind::kIndex, kIndexMagic, format::kIndexVersion,
                    format::EncodeIndex(file));
}

Result<std::vector<IndexObject>> Repository::ReadIndexObjects(
    std::set<ObjectId>* superseded, const std::function<void(const std::string&)>& warn) {
  ASSIGN_OR_RETURN(std::vector<std::string> names,
                   storage::ListNames(*backend_, ObjectKind::kIndex));
  std::vector<IndexObject> out;
  for (const std::string& name : names) {
    auto sealed = backend_->Load({ObjectKind::kIndex, name});
    if (!sealed && Vanished(sealed.error())) continue;
    if (!sealed && sealed.error().code() != ErrorCode::kCorruption) return Err(sealed.error());
    auto id = ObjectId::FromHex(name);
    Result<format::IndexFile> file = Err(CorruptionError("name is not an id"));
    if (sealed && id) {
      auto opened = format::OpenObject(keys_.data_key, kIndexMagic, format::kIndexVersion, *sealed);
      file = opened ? format::DecodeIndex(opened->plaintext) : Err(opened.error());
    }
    if (!file) {
      // Skipping is safe: the packs it named look unindexed, so a backup
      // re-indexes them from their own headers (IndexOrphanPacks).
      if (warn) warn("index " + name + ": " + file.error().message());
      continue;
    }
    if (superseded)
      for (const ObjectId& old : file->supersedes) superseded->insert(old);
    out.push_back({*id, std::move(*file)});
  }
  return out;
}

void Repository::KeepLockListing(std::vector<LockListing> records,
                                 std::vector<std::string> warnings) {
  kept_locks_ = KeptLockListing{std::move(records), std::move(warnings)};
}

Status Repository::LoadIndex(const std::function<void(const std::string&)>& warn) {
  // Plans first: a plan is published before the index objects that would
  // otherwise let its packs back in are rewritten, and deleted after.
  std::vector<LockListing> records;
  if (kept_locks_) {
    if (warn)
      for (const std::string& line : kept_locks_->warnings) warn(line);
    records = std::move(kept_locks_->records);
    kept_locks_.reset();
  } else {
    ASSIGN_OR_RETURN(records, ListLockRecords(warn));
  }
  std::set<PackId> condemned;
  for (const LockListing& listing : records)
    if (const auto* plan = std::get_if<format::PrunePlan>(&listing.record))
      condemned.insert(plan->condemned.begin(), plan->condemned.end());
  std::set<ObjectId> superseded;
  ASSIGN_OR_RETURN(std::vector<IndexObject> objects, ReadIndexObjects(&superseded, warn));
  // Rebuilt from scratch: a long-lived process must forget what a prune
  // removed, or it would deduplicate against deleted blobs.
  index_.Clear();
  condemned_ = std::move(condemned);
  size_t blobs = 0;
  for (const IndexObject& object : objects)
    for (const format::IndexedPack& pack : object.file.packs) blobs += pack.entries.size();
  index_.Reserve(blobs);  // one allocation instead of a rehash at every doubling
  for (const IndexObject& object : objects) {
    if (superseded.count(object.id)) continue;
    for (const format::IndexedPack& pack : object.file.packs)
      if (!condemned_.count(pack.id)) index_.AddPack(pack);
  }
  return Status::Ok();
}

Status Repository::IncludeCondemnedPacks(const std::function<void(const std::string&)>& warn) {
  if (condemned_.empty()) return Status::Ok();
  auto added = IncludeStoredPacks([this](const PackId& id) { return condemned_.count(id) != 0; },
                                  warn);
  return added ? Status::Ok() : added.error();
}

Result<std::vector<PackId>> Repository::IncludeUnindexedPacks(
    const std::function<void(const std::string&)>& warn) {
  ASSIGN_OR_RETURN(
      std::vector<format::IndexedPack> added,
      IncludeStoredPacks([this](const PackId& id) { return !index_.HasPack(id); }, warn));
  std::vector<PackId> ids;
  for (const format::IndexedPack& pack : added) ids.push_back(pack.id);
  return ids;
}

Result<std::vector<format::IndexedPack>> Repository::IncludeStoredPacks(
    const std::function<bool(const PackId&)>& wanted,
    const std::function<void(const std::string&)>& warn) {
  // Listed first, read after: the headers are read outside the listing.
  std::vector<std::pair<PackId, uint64_t>> picked;
  RETURN_IF_ERROR(backend_->List(ObjectKind::kData, [&](const storage::ObjectInfo& info) {
    auto id = PackId::FromHex(info.name);
    if (id && wanted(*id)) picked.emplace_back(*id, info.size);
    return Status::Ok();
  }));
  std::vector<format::IndexedPack> added;
  for (const auto& [id, size] : picked) {
    auto pack = ReadPackHeader(id, size);
    if (!pack) {
      if (Vanished(pack.error())) continue;  // swept meanwhile
      if (pack.error().code() == ErrorCode::kUnavailable) return Err(pack.error());
      if (warn) warn(pack.error().message());
      continue;
    }
    index_.AddPack(*pack);  // keeps the locations already known
    added.push_back(std::move(*pack));
  }
  return added;
}

Result<format::IndexedPack> Repository::ReadPackHeader(const PackId& id, uint64_t size) {
  const ObjectName name{ObjectKind::kData, id.Hex()};
  auto contents = format::ReadPackContents(
      keys_.data_key, size,
      [&](uint64_t offset, uint64_t length) { return LoadRange(name, offset, length); });
  if (!contents) return Err(contents.error().WithContext("pack " + id.Hex()));
  return format::IndexedPack{id, contents->salt, size, std::move(contents->entries)};
}

Result<size_t> Repository::IndexOrphanPacks(const std::function<void(const std::string&)>& warn) {
  format::IndexFile file;
  ASSIGN_OR_RETURN(file.packs, IncludeStoredPacks(
                                   [this](const PackId& id) {
                                     return !index_.HasPack(id) && !condemned_.count(id);
                                   },
                                   warn));
  if (!file.packs.empty()) {
    auto saved = SaveIndex(file);
    if (!saved) return Err(saved.error());
  }
  return file.packs.size();
}

}  // namespace coffre::repo
