// Repository: a coffre repository opened with a passphrase on top of a storage
// Backend. It owns the keys, the config and the in-memory index, and turns
// the stored formats into values: blobs, trees, snapshots, key slots.
// Backup, restore and check see only this class, never a path or a URL.
//
// Thread-safety: after Open/Init, const methods and LoadBlob/LoadTree/
// SaveObject may be called from many threads; LoadIndex and the key methods
// from one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/repo/index_table.h"
#include "agent/repo/pack_read_cache.h"
#include "core/crypto/hash.h"
#include "core/format/config.h"
#include "core/format/index.h"
#include "core/format/key_slot.h"
#include "core/format/lock.h"
#include "core/format/snapshot.h"
#include "core/format/tree.h"
#include "core/storage/backend.h"

namespace coffre::repo {

struct InitOptions {
  chunker::Params chunker;
  crypto::ScryptParams kdf;
  std::string key_label = "init";
};

struct KeySlotListing {
  ObjectId id;
  format::KeySlotInfo info;
  bool in_use = false;
};

// One index object as stored (prune rewrites them one by one).
struct IndexObject {
  ObjectId id;
  format::IndexFile file;
};

// One object under locks/: a lock or a prune plan (core/format/lock.h).
struct LockListing {
  ObjectId id;
  format::LockRecord record;
};

struct SnapshotListing {
  ObjectId id;
  format::Snapshot snapshot;
};

// A snapshot object that is stored but cannot be read: its bytes do not
// match its name, it does not open with the repository's keys, it does not
// decode, or it is of a newer format. It cannot be repaired (it is sealed);
// `forget` removes it by id.
struct DamagedSnapshot {
  ObjectId id;
  Status error;
};

class Repository {
 public:
  // Writes config and a first key slot into an empty backend.
  // kAlreadyExists if the backend already holds a config.
  static Result<std::unique_ptr<Repository>> Init(
      std::unique_ptr<storage::Backend> backend, ByteView passphrase,
      const InitOptions& options = {});

  // Reads and parses the config without a key: kNotFound "not a coffre
  // repository", kUnsupportedVersion if newer. Callers use it to refuse a
  // repository before asking for a passphrase.
  static Result<format::Config> ReadConfig(storage::Backend& backend);

  // Reads the config (kNotFound: "not a coffre repository"; kUnsupportedVersion
  // if newer), then tries each key slot (kAuthFailed: "wrong passphrase").
  // The index is not loaded yet: call LoadIndex when blobs are needed.
  static Result<std::unique_ptr<Repository>> Open(
      std::unique_ptr<storage::Backend> backend, ByteView passphrase);
  // Opens again, with the keys an earlier Open unlocked from key slot
  // `slot`, without the passphrase KDF (the agent daemon, between runs of a
  // job). The config must verify under these keys (kAuthFailed otherwise:
  // another repository at that place) and the slot must still exist
  // (kAuthFailed when it was removed: the key was revoked). Callers fall
  // back to Open on any error but kUnavailable.
  static Result<std::unique_ptr<Repository>> Reopen(std::unique_ptr<storage::Backend> backend,
                                                    const ObjectId& slot,
                                                    const format::MasterKeys& keys);

  storage::Backend& backend() { return *backend_; }
  const format::Config& config() const { return config_; }
  const format::MasterKeys& keys() const { return keys_; }
  IndexTable& index() { return index_; }
  const ObjectId& key_in_use() const { return key_in_use_; }

  // Rebuilds index() from every index object, leaving out the packs that a
  // prune plan has condemned (condemned()): a backup must never
  // deduplicate against a pack that is about to be deleted. An index object
  // that cannot be read is reported through `warn` and skipped (its packs
  // then look unindexed and IndexOrphanPacks recovers them); one deleted
  // since the listing (a prune superseded it) is skipped silently; storage
  // errors return. Plans are read before index objects (docs/prune.md),
  // from the listing KeepLockListing kept if there is one.
  Status LoadIndex(const std::function<void(const std::string&)>& warn = {});
  // For readers (restore, check, ls, prune): adds the blobs of condemned
  // packs, read from their own headers, where no other pack has them. A
  // snapshot saved by a backup that began before a plan may use them; prune
  // keeps such packs. Call after LoadIndex. Unreadable packs go to `warn`.
  Status IncludeCondemnedPacks(const std::function<void(const std::string&)>& warn = {});
  // For readers that must get everything back that is still stored
  // (restore, check, ls): adds, from their own headers, the blobs of every
  // stored pack the index does not cover: condemned packs, and packs whose
  // index object is damaged or gone or that an interrupted backup left, so
  // that a damaged index never blocks a restore. One listing of data/ plus
  // one header read per such pack; nothing is written. Returns the packs it
  // added. Call after LoadIndex; unreadable packs go to `warn`.
  Result<std::vector<PackId>> IncludeUnindexedPacks(
      const std::function<void(const std::string&)>& warn = {});
  // Packs named by the prune plans read at the last LoadIndex.
  const std::set<PackId>& condemned() const { return condemned_; }
  // Indexes packs that exist in storage but in no index (left by an
  // interrupted backup) and saves an index object for them, so their blobs
  // are reused. Condemned packs are not orphans. Returns how many packs it
  // indexed; unreadable packs are skipped and reported through `warn`.
  Result<size_t> IndexOrphanPacks(const std::function<void(const std::string&)>& warn);

  // Every index object that opens, superseded ones included, as stored;
  // unreadable ones go to `warn`. `superseded` gets the ids that some
  // object supersedes.
  Result<std::vector<IndexObject>> ReadIndexObjects(
      std::set<ObjectId>* superseded, const std::function<void(const std::string&)>& warn = {});
  Result<ObjectId> SaveIndex(const format::IndexFile& file);
  // A pack's blob list from its own (encrypted) header.
  Result<format::IndexedPack> ReadPackHeader(const PackId& id, uint64_t size);

  // Every lock and plan under locks/; objects that do not open are reported
  // through `warn` and skipped, ones deleted since the listing are skipped.
  Result<std::vector<LockListing>> ListLockRecords(
      const std::function<void(const std::string&)>& warn = {});
  Result<ObjectId> SaveLockRecord(const format::LockRecord& record);
  // The listing of locks/ that RepoLock::Acquire made right after saving
  // its lock, and what it would have warned: the next LoadIndex takes its
  // plans from it instead of listing locks/ again, which saves a backup a
  // LIST and a GET per lock over the line. That is as safe as a listing of
  // its own (docs/prune.md, "Why no backup loses data": what matters is
  // that the plans were listed after this run's lock was saved). Dropped
  // by the lock's end (DropLockListing), so it never outlives its lock.
  void KeepLockListing(std::vector<LockListing> records, std::vector<std::string> warnings);
  void DropLockListing() { kept_locks_.reset(); }

  // A new HMAC context for blob ids (one per thread).
  std::unique_ptr<crypto::HmacSha256> NewHasher() const;

  // Reads, decrypts, decompresses and verifies one blob. kNotFound if no
  // index knows it; kCorruption naming the pack if anything does not match.
  Result<Bytes> LoadBlob(const BlobId& id);
  // For readers that fetch many blobs of a pack in one request (restore):
  // the stored bytes [offset, offset + length) of `pack` (kCorruption naming
  // the pack when it is missing or short; kUnavailable as the backend says),
  // and a blob opened from its sealed bytes and verified as LoadBlob does.
  Result<Bytes> LoadPackRange(const PackId& pack, uint64_t offset, uint64_t length);
  Result<Bytes> OpenBlob(const BlobLocation& loc, ByteView sealed) const;
  Result<format::Tree> LoadTree(const BlobId& id);

  // Seals `plaintext` as an object of `kind` and saves it under the SHA-256
  // of the sealed bytes. Saving an existing object is not an error.
  Result<ObjectId> SaveSealed(storage::ObjectKind kind, std::string_view magic,
                              uint8_t version, ByteView plaintext);

  Result<ObjectId> SaveSnapshot(const format::Snapshot& snapshot);
  Result<format::Snapshot> LoadSnapshot(const ObjectId& id);
  // All snapshots that can be read, oldest first. With `damaged`, each one
  // that cannot be read (DamagedSnapshot) is added there and left out;
  // without it, the first one is an error. Storage errors always return.
  Result<std::vector<SnapshotListing>> ListSnapshots(
      std::vector<DamagedSnapshot>* damaged = nullptr);
  // "latest" (the newest snapshot that can be read; damaged ones go to
  // `damaged` as ListSnapshots puts them), a full id, or a unique prefix of
  // at least 4 hex digits. kNotFound if none matches, kInvalidArgument if
  // ambiguous, the snapshot's own error if the one named is damaged.
  Result<SnapshotListing> FindSnapshot(const std::string& spec,
                                       std::vector<DamagedSnapshot>* damaged = nullptr);
  // The id of the stored snapshot `spec` (a full id or a unique prefix)
  // names, without reading it: for forgetting a damaged snapshot.
  Result<ObjectId> ResolveSnapshotId(const std::string& spec);

  Result<std::vector<KeySlotListing>> ListKeys();
  Result<ObjectId> AddKey(ByteView passphrase, const std::string& label,
                          const crypto::ScryptParams& kdf = {});
  // Refuses the slot in use and the last slot (kInvalidArgument).
  Status RemoveKey(const std::string& id_prefix);
  // Adds a slot for `passphrase` and removes the one in use.
  Result<ObjectId> ChangePassphrase(ByteView passphrase);

 private:
  Repository(std::unique_ptr<storage::Backend> backend, format::Config config,
             format::MasterKeys keys, ObjectId key_in_use)
      : backend_(std::move(backend)), config_(std::move(config)),
        keys_(std::move(keys)), key_in_use_(key_in_use) {}

  // A blob's sealed bytes: read alone, or, where the backend asks for
  // read-ahead, with the stretch of pack after it (kept in read_cache_).
  Result<Bytes> ReadSealed(const BlobLocation& loc);
  // Load of [offset, offset + length) that is exactly that long: a backend
  // returning fewer bytes is kCorruption ("short read") naming the object.
  Result<Bytes> LoadRange(const storage::ObjectName& name, uint64_t offset, uint64_t length);
  // Adds to index() the headers of the stored packs `wanted` picks, and
  // returns them; a storage error stops it. One listing of data/.
  Result<std::vector<format::IndexedPack>> IncludeStoredPacks(
      const std::function<bool(const PackId&)>& wanted,
      const std::function<void(const std::string&)>& warn);

  std::unique_ptr<storage::Backend> backend_;
  format::Config config_;
  format::MasterKeys keys_;
  ObjectId key_in_use_;
  IndexTable index_;
  std::set<PackId> condemned_;
  struct KeptLockListing {
    std::vector<LockListing> records;
    std::vector<std::string> warnings;
  };
  std::optional<KeptLockListing> kept_locks_;
  PackReadCache read_cache_{32 << 20};
};

// kInvalidArgument unless the scrypt parameters are sane for a key slot.
Status ValidateKdf(const crypto::ScryptParams& kdf);

// What writes snapshots, as each snapshot records it.
inline constexpr const char* kProgramVersion = "coffre 0.1.0";

// Identity of this run, for snapshots and key slots.
std::string HostName();
std::string UserNameOfProcess();
int64_t NowNs();

}  // namespace coffre::repo
