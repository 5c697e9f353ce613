#include "agent/repo/repository.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "core/base/encoding.h"
#include "core/crypto/random.h"
#include "core/format/sealed_object.h"

namespace coffre::repo {

using storage::ObjectKind;
using storage::ObjectName;

namespace {

constexpr std::string_view kSnapshotMagic = "CFSN";

ObjectName ConfigName() { return {ObjectKind::kConfig, std::string(storage::kConfigName)}; }

Result<Bytes> LoadConfigBytes(storage::Backend& backend) {
  auto raw = backend.Load(ConfigName());
  if (!raw && raw.error().code() == ErrorCode::kNotFound)
    return Err(NotFoundError(backend.Location() + " is not a coffre repository (no config)"));
  return raw;
}

}  // namespace

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

std::string UserNameOfProcess() {
  struct passwd pw, *result = nullptr;
  char buf[1024];
  if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &result) == 0 && result) return pw.pw_name;
  return std::to_string(geteuid());
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ValidateKdf(const crypto::ScryptParams& kdf) {
  bool power_of_two = kdf.n >= 2 && (kdf.n & (kdf.n - 1)) == 0;
  if (!power_of_two || kdf.n > (1u << 22) || kdf.r == 0 || kdf.r > 32 || kdf.p == 0 || kdf.p > 16)
    return InvalidArgumentError("scrypt parameters out of range (N a power of two up to 2^22, "
                                "r 1..32, p 1..16)");
  return Status::Ok();
}

Result<std::unique_ptr<Repository>> Repository::Init(
    std::unique_ptr<storage::Backend> backend, ByteView passphrase,
    const InitOptions& options) {
  RETURN_IF_ERROR(chunker::ValidateParams(options.chunker));
  RETURN_IF_ERROR(ValidateKdf(options.kdf));
  auto existing = backend->Stat(ConfigName());
  if (existing) return Err(AlreadyExistsError(backend->Location() + " already holds a repository"));
  if (existing.error().code() != ErrorCode::kNotFound) return Err(existing.error());

  format::MasterKeys keys = format::MasterKeys::Generate();
  format::Config config;
  auto id = crypto::RandomBytes(config.repo_id.size());
  std::copy(id.begin(), id.end(), config.repo_id.begin());
  config.created_ns = NowNs();
  config.chunker = options.chunker;

  format::KeySlotInfo info{NowNs(), HostName(), UserNameOfProcess(), options.key_label};
  Bytes slot = format::EncodeKeySlot(keys, passphrase, info, options.kdf);
  ObjectId slot_id(crypto::Sha256(slot));
  // The key slot first: a config without any key would be a dead repository.
  RETURN_IF_ERROR(backend->Save({ObjectKind::kKey, slot_id.Hex()}, slot));
  RETURN_IF_ERROR(backend->Save(ConfigName(), format::EncodeConfig(config, keys.id_key)));
  return std::unique_ptr<Repository>(
      new Repository(std::move(backend), config, std::move(keys), slot_id));
}

Result<format::Config> Repository::ReadConfig(storage::Backend& backend) {
  ASSIGN_OR_RETURN(Bytes raw, LoadConfigBytes(backend));
  return format::DecodeConfig(raw);
}

Result<std::unique_ptr<Repository>> Repository::Open(
    std::unique_ptr<storage::Backend> backend, ByteView passphrase) {
  ASSIGN_OR_RETURN(Bytes raw_config, LoadConfigBytes(*backend));
  ASSIGN_OR_RETURN(format::Config config, format::DecodeConfig(raw_config));

  ASSIGN_OR_RETURN(std::vector<std::string> slots, storage::ListNames(*backend, ObjectKind::kKey));
  if (slots.empty()) return Err(CorruptionError(backend->Location() + " has no key slot"));
  // A slot that is damaged, newer, or that opens but does not match the
  // config (left by an interrupted init) must not lock anyone out: try every
  // slot, and only say why when none opens.
  Status other;
  Status mismatch;
  std::vector<std::string> damaged;
  for (const std::string& name : slots) {
    auto slot = backend->Load({ObjectKind::kKey, name});
    if (!slot) {
      if (slot.error().code() == ErrorCode::kUnavailable) return Err(slot.error());
      other = slot.error().WithContext("key slot " + name.substr(0, 8));
      continue;
    }
    // A slot is named by its SHA-256: one that does not match is damaged,
    // and no passphrase could open it.
    if (ObjectId(crypto::Sha256(*slot)).Hex() != name) {
      damaged.push_back(name.substr(0, 8));
      continue;
    }
    auto keys = format::OpenKeySlot(*slot, passphrase);
    if (!keys) {
      if (keys.error().code() != ErrorCode::kAuthFailed)
        other = keys.error().WithContext("key slot " + name.substr(0, 8));
      continue;
    }
    Status verified = format::VerifyConfig(raw_config, keys->id_key);
    if (!verified.ok()) {
      mismatch = verified.WithContext("the passphrase opens key slot " + name.substr(0, 8) +
                                      " but the config does not match its keys");
      continue;
    }
    ASSIGN_OR_RETURN(ObjectId slot_id, ObjectId::FromHex(name));
    return std::unique_ptr<Repository>(
        new Repository(std::move(backend), config, std::move(*keys), slot_id));
  }
  // The passphrase was right for some slot: the config, not the user, is
  // wrong (tampered, or a slot left by an interrupted init).
  if (!mismatch.ok()) return Err(mismatch);
  if (!damaged.empty()) {
    std::string names;
    for (const auto& d : damaged) names += (names.empty() ? "" : ", ") + d;
    return Err(CorruptionError(
        "no intact key slot of " + backend->Location() +
        " opens with this passphrase, and key slot(s) " + names +
        " are damaged (their bytes do not match their names): if the passphrase was one of "
        "theirs, open with another passphrase or put back a copy of that slot"));
  }
  std::string message = "wrong passphrase: no key slot of " + backend->Location() + " opens with it";
  if (!other.ok()) message += " (also: " + other.message() + ")";
  return Err(AuthFailedError(message));
}

Result<std::unique_ptr<Repository>> Repository::Reopen(std::unique_ptr<storage::Backend> backend,
                                                      const ObjectId& slot,
                                                      const format::MasterKeys& keys) {
  ASSIGN_OR_RETURN(Bytes raw_config, LoadConfigBytes(*backend));
  ASSIGN_OR_RETURN(format::Config config, format::DecodeConfig(raw_config));
  Status verified = format::VerifyConfig(raw_config, keys.id_key);
  if (!verified.ok())
    return Err(AuthFailedError(backend->Location() + ": the remembered keys do not open it (" +
                               verified.message() + ")"));
  auto present = backend->Stat({ObjectKind::kKey, slot.Hex()});
  if (!present) {
    if (present.error().code() == ErrorCode::kNotFound)
      return Err(AuthFailedError("key slot " + slot.Short() + " is no longer in " +
                                 backend->Location()));
    return Err(present.error());
  }
  return std::unique_ptr<Repository>(new Repository(std::move(backend), config, keys, slot));
}

std::unique_ptr<crypto::HmacSha256> Repository::NewHasher() const {
  return std::make_unique<crypto::HmacSha256>(keys_.id_key);
}

Result<Bytes> Repository::LoadBlob(const BlobId& id) {
  auto loc = index_.Find(id);
  if (!loc) return Err(NotFoundError("blob " + id.Hex() + " is in no index"));
  const std::string where = "pack " + loc->pack.Hex() + ", blob " + id.Short();
  auto sealed = ReadSealed(*loc);
  if (!sealed) {
    Status s = sealed.error();
    // A blob missing or short inside a pack is damage, not a routine miss.
    if (s.code() == ErrorCode::kNotFound) s = CorruptionError(s.message());
    return Err(s.WithContext(where));
  }
  return OpenBlob(*loc, *sealed);
}

Result<Bytes> Repository::OpenBlob(const BlobLocation& loc, ByteView sealed) const {
  const std::string where = "pack " + loc.pack.Hex() + ", blob " + loc.entry.id.Short();
  auto plain = format::OpenBlob(format::PackKey(keys_.data_key, loc.salt), loc.entry, sealed);
  if (!plain) return Err(plain.error().WithContext(where));
  if (BlobId(NewHasher()->Compute(*plain)) != loc.entry.id)
    return Err(CorruptionError(where + ": content does not match its id"));
  return std::move(*plain);
}

Result<Bytes> Repository::LoadRange(const ObjectName& name, uint64_t offset, uint64_t length) {
  ASSIGN_OR_RETURN(Bytes bytes, backend_->Load(name, offset, length));
  // The contract gives exactly the range or an error; a backend that gives
  // less (a cut connection taken for the end) would have callers slice
  // blobs past the end of the buffer.
  if (length != 0 && bytes.size() != length) {
    return Err(CorruptionError(name.ToString() + ": short read: got " + std::to_string(bytes.size()) +
                               " of " + std::to_string(length) + " bytes at offset " +
                               std::to_string(offset)));
  }
  return bytes;
}

Result<Bytes> Repository::LoadPackRange(const PackId& pack, uint64_t offset, uint64_t length) {
  auto bytes = LoadRange({ObjectKind::kData, pack.Hex()}, offset, length);
  if (!bytes) {
    Status s = bytes.error();
    // An indexed pack that is gone or short is damage, not a routine miss.
    if (s.code() == ErrorCode::kNotFound) s = CorruptionError(s.message());
    return Err(s.WithContext("pack " + pack.Hex()));
  }
  return bytes;
}

Result<Bytes> Repository::ReadSealed(const BlobLocation& loc) {
  const ObjectName name{ObjectKind::kData, loc.pack.Hex(), loc.tree_pack};
  const uint64_t offset = loc.entry.offset;
  const uint64_t length = loc.entry.stored_len;
  const uint64_t ahead = backend_->ReadAheadBytes();
  // Read-ahead is for file data read in backup order (restores); a tree is
  // read alone, its neighbours are mostly file data nobody asked for.
  if (ahead == 0 || loc.entry.type == format::BlobType::kTree || loc.pack_size <= offset + length)
    return LoadRange(name, offset, length);
  if (auto hit = read_cache_.Find(loc.pack, offset, length)) {
    read_cache_.NoteRead(loc.pack, offset + length);
    return std::move(*hit);
  }
  // Only a read that continues an earlier one reads ahead.
  if (!read_cache_.Continues(loc.pack, offset)) {
    read_cache_.NoteRead(loc.pack, offset + length);
    return LoadRange(name, offset, length);
  }
  const uint64_t end = std::min(loc.pack_size, offset + std::max(length, ahead));
  auto stretch = LoadRange(name, offset, end - offset);
  // An index that overstates the pack's size, or a stretch that came back
  // short, must not cost the blob itself.
  if (!stretch) return LoadRange(name, offset, length);
  Bytes blob(stretch->begin(), stretch->begin() + static_cast<ptrdiff_t>(length));
  read_cache_.Insert(loc.pack, offset, std::move(*stretch));
  read_cache_.NoteRead(loc.pack, offset + length);
  return blob;
}

Result<format::Tree> Repository::LoadTree(const BlobId& id) {
  ASSIGN_OR_RETURN(Bytes data, LoadBlob(id));
  auto tree = format::DecodeTree(data);
  if (!tree) return Err(tree.error().WithContext("tree " + id.Short()));
  return std::move(*tree);
}

Result<ObjectId> Repository::SaveSealed(ObjectKind kind, std::string_view magic,
                                        uint8_t version, ByteView plaintext) {
  Bytes sealed = format::SealObject(keys_.data_key, magic, version, plaintext);
  ObjectId id(crypto::Sha256(sealed));
  Status s = backend_->Save({kind, id.Hex()}, sealed);
  if (!s.ok() && s.code() != ErrorCode::kAlreadyExists) return Err(s);
  return id;
}

Result<ObjectId> Repository::SaveSnapshot(const format::Snapshot& snapshot) {
  return SaveSealed(ObjectKind::kSnapshot, kSnapshotMagic, format::kSnapshotVersion,
                    format::EncodeSnapshot(snapshot));
}

Result<format::Snapshot> Repository::LoadSnapshot(const ObjectId& id) {
  ASSIGN_OR_RETURN(Bytes sealed, backend_->Load({ObjectKind::kSnapshot, id.Hex()}));
  if (ObjectId(crypto::Sha256(sealed)) != id)
    return Err(CorruptionError("snapshot " + id.Hex() + " does not match its id"));
  auto opened = format::OpenObject(keys_.data_key, kSnapshotMagic, format::kSnapshotVersion, sealed);
  if (!opened) return Err(opened.error().WithContext("snapshot " + id.Short()));
  auto snapshot = format::DecodeSnapshot(opened->plaintext);
  if (!snapshot) return Err(snapshot.error().WithContext("snapshot " + id.Short()));
  return std::move(*snapshot);
}

namespace {

// The errors that say a stored snapshot is unreadable for good, as opposed
// to a storage that failed to deliver it.
bool IsDamage(const Status& s) {
  switch (s.code()) {
    case ErrorCode::kCorruption:
    case ErrorCode::kUnsupportedVersion:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kAuthFailed:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<std::vector<SnapshotListing>> Repository::ListSnapshots(
    std::vector<DamagedSnapshot>* damaged) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, storage::ListNames(*backend_, ObjectKind::kSnapshot));
  std::vector<SnapshotListing> out;
  for (const std::string& name : names) {
    auto id = ObjectId::FromHex(name);
    if (!id) {
      // A stray file under snapshots/ is no snapshot: skipped where damage
      // is skipped (check reports it), an error where it is not.
      if (!damaged) return Err(CorruptionError("snapshots/" + name + " is not a snapshot name"));
      continue;
    }
    auto snapshot = LoadSnapshot(*id);
    // Forgotten between the listing and now (a concurrent forget): gone.
    if (!snapshot && snapshot.error().code() == ErrorCode::kNotFound) continue;
    if (!snapshot && damaged && IsDamage(snapshot.error())) {
      damaged->push_back({*id, snapshot.error()});
      continue;
    }
    if (!snapshot) return Err(snapshot.error());
    out.push_back({*id, std::move(*snapshot)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.snapshot.time_ns, a.id) < std::tie(b.snapshot.time_ns, b.id);
  });
  return out;
}

Result<SnapshotListing> Repository::FindSnapshot(const std::string& spec,
                                                 std::vector<DamagedSnapshot>* damaged) {
  if (spec == "latest") {
    ASSIGN_OR_RETURN(auto all, ListSnapshots(damaged));
    if (all.empty() && damaged && !damaged->empty())
      return Err(NotFoundError("the repository has no readable snapshot (" +
                               std::to_string(damaged->size()) + " damaged)"));
    if (all.empty()) return Err(NotFoundError("the repository has no snapshot yet"));
    return all.back();
  }
  ASSIGN_OR_RETURN(ObjectId id, ResolveSnapshotId(spec));
  ASSIGN_OR_RETURN(format::Snapshot snapshot, LoadSnapshot(id));
  return SnapshotListing{id, std::move(snapshot)};
}

Result<ObjectId> Repository::ResolveSnapshotId(const std::string& spec) {
  if (spec.size() < 4 || spec.size() > 64 ||
      spec.find_first_not_of("0123456789abcdef") != std::string::npos)
    return Err(InvalidArgumentError("'" + spec +
                                    "' is not a snapshot id: give 'latest' or at least 4 hex digits"));
  std::vector<std::string> matches;
  RETURN_IF_ERROR(backend_->List(ObjectKind::kSnapshot, [&](const storage::ObjectInfo& info) {
    if (info.name.compare(0, spec.size(), spec) == 0) matches.push_back(info.name);
    return Status::Ok();
  }));
  if (matches.empty()) return Err(NotFoundError("no snapshot matches '" + spec + "'"));
  if (matches.size() > 1)
    return Err(InvalidArgumentError("'" + spec + "' matches " + std::to_string(matches.size()) +
                                    " snapshots: give more digits"));
  return ObjectId::FromHex(matches[0]);
}

}  // namespace coffre::repo
