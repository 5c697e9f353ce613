// Registry: the vault's tenants and their API tokens, kept in one JSON file
// (DATA/tenants.json) that every change rewrites atomically (temp file,
// fsync, rename) under an exclusive flock, so the admin command line and a
// running server can share it. The server calls Refresh() before
// authenticating; it re-reads the file when it changed, so a token added or
// revoked by `coffre-vault token ...` takes effect without a restart.
//
// The file is "version": 1, or 2 once a token is limited to one
// repository (its "repo" field): a build that reads only version 1 then
// refuses the file rather than grant such a token all of its tenant.
// A token is "cvt_" + 16 hex digits (its id) + "_" + 64 hex digits (its
// secret, 32 random bytes). Only the SHA-256 of the secret is stored, and it
// is compared in constant time.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace coffre::vault {

struct FileIdentity;  // vault/tenant/locked_file.h

enum class Role { kBackup, kRestore, kAdmin };

// "backup", "restore", "admin".
const char* RoleName(Role role);
// kInvalidArgument for anything else.
Result<Role> ParseRole(std::string_view name);

// Tenant and repository names: 1 to 63 characters of [a-z0-9_-], starting
// with a letter or a digit; kInvalidArgument otherwise.
Status ValidateTenantName(std::string_view name);
Status ValidateRepoName(std::string_view name);

struct Tenant {
  std::string name;
  uint64_t quota_bytes = 0;  // 0: no quota
  int64_t created_ns = 0;
};

struct TokenInfo {
  std::string id;
  std::string tenant;
  Role role = Role::kRestore;
  std::string repo;  // the one repository it may reach; "": all of the tenant's
  int64_t created_ns = 0;
  bool revoked = false;
};

// Who a request is from, once its token is checked.
struct Principal {
  std::string tenant;
  Role role = Role::kRestore;
  std::string token_id;
  std::string repo;  // "": every repository of the tenant
};

class Registry {
 public:
  // Writes an empty registry at `path`; kAlreadyExists if a file is there.
  static Result<std::unique_ptr<Registry>> Create(const std::string& path);
  // Reads `path`; kNotFound if absent, kCorruption if it does not parse.
  static Result<std::unique_ptr<Registry>> Open(const std::string& path);
  ~Registry();

  // kAlreadyExists if the tenant exists; kInvalidArgument for a bad name.
  Status AddTenant(const std::string& name, uint64_t quota_bytes);
  // kNotFound if there is no such tenant.
  Status SetQuota(const std::string& name, uint64_t quota_bytes);
  Result<Tenant> FindTenant(const std::string& name) const;
  std::vector<Tenant> Tenants() const;  // sorted by name

  // Creates a token for an existing tenant (kNotFound otherwise), limited
  // to repository `repo` unless it is empty, and returns it whole: the only
  // time the secret is ever shown. kInvalidArgument for a bad repo name.
  Result<std::string> AddToken(const std::string& tenant, Role role,
                               const std::string& repo = "");
  // Marks the token revoked (kept, so its id stays meaningful in the audit
  // log). kNotFound if no token has that id.
  Status RevokeToken(const std::string& id);
  std::vector<TokenInfo> Tokens() const;  // sorted by tenant, then id

  // The principal of a token; kAuthFailed "invalid token" for a malformed,
  // unknown or revoked one (the same message for each).
  Result<Principal> Authenticate(std::string_view token) const;

  // Re-reads the file if it changed since it was last read (mtime, size or
  // inode), at most once a second. Errors keep the registry as it was.
  Status Refresh();

 private:
  explicit Registry(std::string path);
  struct State;
  // Reads the file under a shared lock into a new state.
  Status Load();
  // Applies `change` to the state read fresh under an exclusive lock, then
  // writes it back atomically.
  Status Modify(const std::function<Status(State&)>& change);
  // Makes `state`, read from or written to a file with identity `id`, the
  // current one.
  void Install(std::unique_ptr<State> state, const FileIdentity& id);

  const std::string path_;
  mutable std::mutex mu_;
  std::unique_ptr<State> state_;
  int64_t last_check_ns_ = 0;
  // What the file looked like when last read: (mtime ns, size, inode).
  int64_t file_mtime_ns_ = 0;
  uint64_t file_size_ = 0;
  uint64_t file_inode_ = 0;
};

}  // namespace coffre::vault
