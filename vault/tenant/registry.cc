#include "vault/tenant/registry.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "core/base/bytes.h"
#include "core/crypto/hash.h"
#include "core/crypto/random.h"
#include "core/storage/vault_name.h"
#include "vault/tenant/locked_file.h"

namespace coffre::vault {
namespace {

using nlohmann::json;

// Version 2 adds a token's optional "repo"; a file without one is written
// as version 1, which older builds read.
constexpr int kFormatVersion = 2;
constexpr int kOldestVersion = 1;
constexpr std::string_view kTokenPrefix = "cvt_";
constexpr size_t kIdHexLen = 16;      // 8 random bytes
constexpr size_t kSecretHexLen = 64;  // 32 random bytes
constexpr int64_t kRefreshIntervalNs = 1'000'000'000;

int64_t MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The hash stored for a secret: SHA-256 of its 64 hex characters as written
// in the token, so an operator can check one with `printf %s SECRET |
// sha256sum`.
crypto::Digest SecretHash(std::string_view secret_hex) {
  return crypto::Sha256(AsBytes(secret_hex));
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kBackup:
      return "backup";
    case Role::kRestore:
      return "restore";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

Result<Role> ParseRole(std::string_view name) {
  if (name == "backup") return Role::kBackup;
  if (name == "restore") return Role::kRestore;
  if (name == "admin") return Role::kAdmin;
  return Err(InvalidArgumentError("unknown role '" + std::string(name) +
                                  "' (expected backup, restore or admin)"));
}

Status ValidateTenantName(std::string_view name) {
  return storage::ValidateVaultName("tenant", name);
}
Status ValidateRepoName(std::string_view name) {
  return storage::ValidateVaultName("repository", name);
}

namespace {
struct StoredToken {
  TokenInfo info;
  crypto::Digest secret_hash{};
};
}  // namespace

struct Registry::State {
  std::map<std::string, Tenant> tenants;      // by name
  std::map<std::string, StoredToken> tokens;  // by id
};

namespace {

std::string Encode(const std::map<std::string, Tenant>& tenants,
                   const std::map<std::string, StoredToken>& tokens) {
  json tenant_list = json::array();
  for (const auto& [name, t] : tenants) {
    tenant_list.push_back(
        {{"name", t.name}, {"quota_bytes", t.quota_bytes}, {"created_ns", t.created_ns}});
  }
  json token_list = json::array();
  int version = kOldestVersion;
  for (const auto& [id, t] : tokens) {
    json entry = {{"id", t.info.id},
                  {"tenant", t.info.tenant},
                  {"role", RoleName(t.info.role)},
                  {"created_ns", t.info.created_ns},
                  {"revoked", t.info.revoked},
                  {"secret_sha256", HexEncode(t.secret_hash)}};
    if (!t.info.repo.empty()) {
      entry["repo"] = t.info.repo;
      version = kFormatVersion;
    }
    token_list.push_back(std::move(entry));
  }
  json doc = {{"version", version}, {"tenants", tenant_list}, {"tokens", token_list}};
  return doc.dump(2) + "\n";
}

// Decodes and checks the file: every name valid, every token of a known
// tenant. nlohmann throws on a missing key or a wrong type; both mean a
// damaged file, so they become kCorruption here.
Status Decode(const std::string& text, const std::string& path,
              std::map<std::string, Tenant>* tenants, std::map<std::string, StoredToken>* tokens) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return CorruptionError(path + ": not a JSON object");
  }
  try {
    const json& version = doc.at("version");
    if (!version.is_number_integer() || version.get<int64_t>() < kOldestVersion ||
        version.get<int64_t>() > kFormatVersion) {
      return UnsupportedVersionError(path + ": registry version " + version.dump() +
                                     " is not supported (this build reads versions 1 and 2)");
    }
    for (const json& j : doc.at("tenants")) {
      Tenant t{j.at("name").get<std::string>(), j.at("quota_bytes").get<uint64_t>(),
               j.at("created_ns").get<int64_t>()};
      if (!ValidateTenantName(t.name).ok() || tenants->count(t.name) != 0) {
        return CorruptionError(path + ": bad or repeated tenant name '" + t.name + "'");
      }
      (*tenants)[t.name] = t;
    }
    for (const json& j : doc.at("tokens")) {
      StoredToken t;
      t.info.id = j.at("id").get<std::string>();
      t.info.tenant = j.at("tenant").get<std::string>();
      auto role = ParseRole(j.at("role").get<std::string>());
      t.info.created_ns = j.at("created_ns").get<int64_t>();
      t.info.revoked = j.at("revoked").get<bool>();
      if (j.contains("repo")) t.info.repo = j.at("repo").get<std::string>();
      if (j.contains("repo") && !ValidateRepoName(t.info.repo).ok())
        return CorruptionError(path + ": bad repository name in token '" + t.info.id + "'");
      std::string hash_hex = j.at("secret_sha256").get<std::string>();
      if (!role || t.info.id.size() != kIdHexLen || !IsLowerHex(t.info.id) ||
          hash_hex.size() != 2 * t.secret_hash.size() || !IsLowerHex(hash_hex) ||
          tenants->count(t.info.tenant) == 0 || tokens->count(t.info.id) != 0) {
        return CorruptionError(path + ": bad token entry '" + t.info.id + "'");
      }
      t.info.role = *role;
      Bytes hash = *HexDecode(hash_hex);
      std::copy(hash.begin(), hash.end(), t.secret_hash.begin());
      (*tokens)[t.info.id] = t;
    }
  } catch (const json::exception& e) {
    return CorruptionError(path + ": " + e.what());
  }
  return Status::Ok();
}

}  // namespace

Registry::Registry(std::string path) : path_(std::move(path)), state_(std::make_unique<State>()) {}
Registry::~Registry() = default;

Result<std::unique_ptr<Registry>> Registry::Create(const std::string& path) {
  std::unique_ptr<Registry> registry(new Registry(path));
  // Exclusive, so two concurrent `init`s cannot both believe they created it.
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path + ".lock", /*shared=*/false));
  auto existing = StatIdentity(path);
  if (existing) return Err(AlreadyExistsError(path + " already exists"));
  if (existing.error().code() != ErrorCode::kNotFound) return Err(existing.error());
  ASSIGN_OR_RETURN(FileIdentity id, WriteFileAtomic(path, Encode({}, {})));
  registry->Install(std::make_unique<State>(), id);
  return registry;
}

Result<std::unique_ptr<Registry>> Registry::Open(const std::string& path) {
  std::unique_ptr<Registry> registry(new Registry(path));
  RETURN_IF_ERROR(registry->Load());
  return registry;
}

Status Registry::Load() {
  // Check existence first: asking about an absent registry must not leave a
  // lock file behind.
  if (auto exists = StatIdentity(path_); !exists) return exists.error();
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path_ + ".lock", /*shared=*/true));
  FileIdentity id;
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path_, &id));
  auto fresh = std::make_unique<State>();
  RETURN_IF_ERROR(Decode(text, path_, &fresh->tenants, &fresh->tokens));
  Install(std::move(fresh), id);
  return Status::Ok();
}

Status Registry::Modify(const std::function<Status(State&)>& change) {
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path_ + ".lock", /*shared=*/false));
  // Read fresh under the lock: another process may have changed the file
  // since this object last looked, and its change must not be lost.
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path_, nullptr));
  auto fresh = std::make_unique<State>();
  RETURN_IF_ERROR(Decode(text, path_, &fresh->tenants, &fresh->tokens));
  RETURN_IF_ERROR(change(*fresh));
  ASSIGN_OR_RETURN(FileIdentity id, WriteFileAtomic(path_, Encode(fresh->tenants, fresh->tokens)));
  // Installed while the exclusive lock is still held, so two threads that
  // modify in turn install their states in the order they wrote them.
  Install(std::move(fresh), id);
  return Status::Ok();
}

void Registry::Install(std::unique_ptr<State> state, const FileIdentity& id) {
  std::lock_guard<std::mutex> guard(mu_);
  state_ = std::move(state);
  file_mtime_ns_ = id.mtime_ns;
  file_size_ = id.size;
  file_inode_ = id.inode;
  last_check_ns_ = MonotonicNs();
}

Status Registry::Refresh() {
  {
    std::lock_guard<std::mutex> guard(mu_);
    int64_t now = MonotonicNs();
    if (now - last_check_ns_ < kRefreshIntervalNs) return Status::Ok();
    last_check_ns_ = now;
    ASSIGN_OR_RETURN(FileIdentity id, StatIdentity(path_));
    if (id == FileIdentity{file_mtime_ns_, file_size_, file_inode_}) return Status::Ok();
  }
  return Load();
}

Status Registry::AddTenant(const std::string& name, uint64_t quota_bytes) {
  RETURN_IF_ERROR(ValidateTenantName(name));
  return Modify([&](State& state) -> Status {
    if (state.tenants.count(name) != 0) return AlreadyExistsError("tenant '" + name + "' exists");
    state.tenants[name] = Tenant{name, quota_bytes, WallNs()};
    return Status::Ok();
  });
}

Status Registry::SetQuota(const std::string& name, uint64_t quota_bytes) {
  return Modify([&](State& state) -> Status {
    auto it = state.tenants.find(name);
    if (it == state.tenants.end()) return NotFoundError("no tenant '" + name + "'");
    it->second.quota_bytes = quota_bytes;
    return Status::Ok();
  });
}

Result<Tenant> Registry::FindTenant(const std::string& name) const {
  std::lock_guard<std::mutex> guard(mu_);
  auto it = state_->tenants.find(name);
  if (it == state_->tenants.end()) return Err(NotFoundError("no tenant '" + name + "'"));
  return it->second;
}

std::vector<Tenant> Registry::Tenants() const {
  std::lock_guard<std::mutex> guard(mu_);
  std::vector<Tenant> out;
  for (const auto& [name, t] : state_->tenants) out.push_back(t);  // map order: by name
  return out;
}

Result<std::string> Registry::AddToken(const std::string& tenant, Role role,
                                       const std::string& repo) {
  if (!repo.empty()) RETURN_IF_ERROR(ValidateRepoName(repo));
  const std::string secret = HexEncode(crypto::RandomBytes(kSecretHexLen / 2));
  std::string id;
  Status s = Modify([&](State& state) -> Status {
    if (state.tenants.count(tenant) == 0) return NotFoundError("no tenant '" + tenant + "'");
    do {  // 64 random bits: a collision is a curiosity, but cheap to rule out
      id = HexEncode(crypto::RandomBytes(kIdHexLen / 2));
    } while (state.tokens.count(id) != 0);
    StoredToken t;
    t.info = TokenInfo{id, tenant, role, repo, WallNs(), false};
    t.secret_hash = SecretHash(secret);
    state.tokens[id] = t;
    return Status::Ok();
  });
  if (!s.ok()) return Err(s);
  return std::string(kTokenPrefix) + id + "_" + secret;
}

Status Registry::RevokeToken(const std::string& id) {
  return Modify([&](State& state) -> Status {
    auto it = state.tokens.find(id);
    if (it == state.tokens.end()) return NotFoundError("no token with id '" + id + "'");
    it->second.info.revoked = true;
    return Status::Ok();
  });
}

std::vector<TokenInfo> Registry::Tokens() const {
  std::vector<TokenInfo> out;
  {
    std::lock_guard<std::mutex> guard(mu_);
    for (const auto& [id, t] : state_->tokens) out.push_back(t.info);
  }
  std::sort(out.begin(), out.end(), [](const TokenInfo& a, const TokenInfo& b) {
    return std::tie(a.tenant, a.id) < std::tie(b.tenant, b.id);
  });
  return out;
}

Result<Principal> Registry::Authenticate(std::string_view token) const {
  // One message for every failure: the caller answers 401 with it, and
  // nothing may tell a guesser which part was wrong.
  auto fail = [] { return Err(AuthFailedError("invalid token")); };
  constexpr size_t kLen = kTokenPrefix.size() + kIdHexLen + 1 + kSecretHexLen;
  if (token.size() != kLen || token.substr(0, kTokenPrefix.size()) != kTokenPrefix ||
      token[kTokenPrefix.size() + kIdHexLen] != '_') {
    return fail();
  }
  std::string_view id = token.substr(kTokenPrefix.size(), kIdHexLen);
  std::string_view secret = token.substr(kTokenPrefix.size() + kIdHexLen + 1);
  if (!IsLowerHex(id) || !IsLowerHex(secret)) return fail();
  const crypto::Digest presented = SecretHash(secret);

  std::lock_guard<std::mutex> guard(mu_);
  auto it = state_->tokens.find(std::string(id));
  if (it == state_->tokens.end()) return fail();
  const StoredToken& stored = it->second;
  if (!crypto::ConstantTimeEqual(presented, stored.secret_hash) || stored.info.revoked) {
    return fail();
  }
  return Principal{stored.info.tenant, stored.info.role, stored.info.id, stored.info.repo};
}

}  // namespace coffre::vault
