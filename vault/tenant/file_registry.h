// FileRegistry: the tenants and tokens of a single vault node, kept in one
// JSON file (DATA/tenants.json) that every change rewrites atomically (temp
// file, fsync, rename) under an exclusive flock, so the admin command line
// and a running server can share it. Refresh re-reads the file when it
// changed, so a token added or revoked by `coffre-vault token ...` takes
// effect within a second, without a restart.
// The file is "version": 1, or 2 once a token is limited to one
// repository (its "repo" field): a build that reads only version 1 then
// refuses the file rather than grant such a token all of its tenant
// (docs/vault.md).
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "vault/tenant/registry.h"

namespace coffre::vault {

struct FileIdentity;  // vault/tenant/locked_file.h

class FileRegistry final : public Registry {
 public:
  // Writes an empty registry at `path`; kAlreadyExists if a file is there.
  static Result<std::unique_ptr<FileRegistry>> Create(const std::string& path);
  // Reads `path`; kNotFound if absent, kCorruption if it does not parse.
  static Result<std::unique_ptr<FileRegistry>> Open(const std::string& path);

  Status AddTenant(const std::string& name, uint64_t quota_bytes) override;
  Status SetQuota(const std::string& name, uint64_t quota_bytes) override;
  Status SetPlacement(const std::string& name, const Placement& placement) override;
  Status SetHold(const std::string& name, int hold_days) override;
  Result<std::string> AddToken(const std::string& tenant, Role role,
                               const std::string& repo = "") override;
  Status RevokeToken(const std::string& id) override;
  // Re-reads the file if it changed since it was last read (mtime, size or
  // inode), at most once a second.
  Status Refresh() override;

 private:
  explicit FileRegistry(std::string path) : path_(std::move(path)) {}
  // Reads the file under a shared lock into a new state.
  Status Load();
  // Applies `change` to the state read fresh under an exclusive lock, then
  // writes it back atomically.
  Status Modify(const std::function<Status(RegistryState&)>& change);
  // Makes `state`, read from or written to a file with identity `id`, the
  // current one.
  void InstallFrom(std::unique_ptr<RegistryState> state, const FileIdentity& id);

  const std::string path_;
  std::mutex check_mu_;  // guards what follows
  int64_t last_check_ns_ = 0;
  // What the file looked like when last read: (mtime ns, size, inode).
  int64_t file_mtime_ns_ = 0;
  uint64_t file_size_ = 0;
  uint64_t file_inode_ = 0;
};

}  // namespace coffre::vault
