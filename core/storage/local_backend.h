// LocalBackend: a repository in a folder of the local filesystem, the
// embedded default storage of both the agent and the vault.
//
// Layout: config, keys/ID, data/XX/ID (XX = first two characters, so no
// folder holds millions of files), index/ID, snapshots/ID, locks/ID, and
// tmp/ for uploads in progress. Save writes tmp/RANDOM, fsyncs it, renames it
// into place with RENAME_NOREPLACE semantics (link + unlink), and fsyncs the
// folder, so a crash leaves the object absent or whole. Files left in tmp/ by
// a crash are removed by Open when older than an hour.
// Thread-safety: all methods may be called concurrently (see Backend).
#pragma once

#include <memory>
#include <string>

#include "core/storage/backend.h"

namespace coffre::storage {

class LocalBackend : public Backend {
 public:
  // Creates the folder layout under `root` (the folder itself may exist but
  // must be empty or absent: kAlreadyExists otherwise).
  static Result<std::unique_ptr<LocalBackend>> Create(const std::string& root);
  // Opens an existing layout; kNotFound if `root` has no layout.
  static Result<std::unique_ptr<LocalBackend>> Open(const std::string& root);

  // Streams into tmp/ and publishes on Commit, as Save does.
  Result<std::unique_ptr<ObjectWriter>> NewWriter(const ObjectName& object, uint64_t size) override;
  Status Save(const ObjectName& object, ByteView data) override;
  Result<Bytes> Load(const ObjectName& object, uint64_t offset,
                     uint64_t length) override;
  Result<uint64_t> Stat(const ObjectName& object) override;
  Status Remove(const ObjectName& object) override;
  Status List(ObjectKind kind,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  std::string Location() const override { return root_; }

  // Removes every file in tmp/, however recent: for the sole owner of the
  // folder (the vault at start-up), so a half-received upload leaves nothing.
  // Open removes only those older than an hour, as others may be writing.
  void RemoveTemporaries();

 private:
  class Writer;
  explicit LocalBackend(std::string root) : root_(std::move(root)) {}
  std::string PathOf(const ObjectName& object) const;
  std::string root_;
};

}  // namespace coffre::storage
