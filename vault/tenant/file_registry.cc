#include "vault/tenant/file_registry.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/base/bytes.h"
#include "core/base/clock.h"
#include "vault/tenant/locked_file.h"
#include "vault/tenant/token.h"

namespace coffre::vault {
namespace {

using nlohmann::json;

// Version 2 adds a token's optional "repo", version 3 a tenant's optional
// "locations" and "copies" (docs/sovereignty.md), version 4 a tenant's
// optional "hold_days" and the "maintain" role (docs/vault.md, "Deletion
// hold"). A file is written at the lowest version that holds it, so older
// builds read what they can honour and refuse what they cannot (a
// version-2 build would ignore a placement, a version-3 one a hold).
constexpr int kFormatVersion = 4;
constexpr int kOldestVersion = 1;
constexpr int64_t kRefreshIntervalNs = 1'000'000'000;

std::string Encode(const std::map<std::string, Tenant>& tenants,
                   const std::map<std::string, RegistryState::StoredToken>& tokens) {
  json tenant_list = json::array();
  int version = kOldestVersion;
  for (const auto& [name, t] : tenants) {
    json entry = {{"name", t.name}, {"quota_bytes", t.quota_bytes}, {"created_ns", t.created_ns}};
    if (!(t.placement == Placement{})) {
      entry["locations"] = t.placement.locations;
      entry["copies"] = t.placement.copies;
      version = std::max(version, 3);
    }
    if (t.hold_days != 0) {
      entry["hold_days"] = t.hold_days;
      version = 4;
    }
    tenant_list.push_back(std::move(entry));
  }
  json token_list = json::array();
  for (const auto& [id, t] : tokens) {
    json entry = {{"id", t.info.id},
                  {"tenant", t.info.tenant},
                  {"role", RoleName(t.info.role)},
                  {"created_ns", t.info.created_ns},
                  {"revoked", t.info.revoked},
                  {"secret_sha256", HexEncode(t.secret_hash)}};
    if (!t.info.repo.empty()) {
      entry["repo"] = t.info.repo;
      version = std::max(version, 2);
    }
    if (t.info.role == Role::kMaintain) version = 4;
    token_list.push_back(std::move(entry));
  }
  json doc = {{"version", version}, {"tenants", tenant_list}, {"tokens", token_list}};
  return doc.dump(2) + "\n";
}

// Decodes and checks the file: every name valid, every token of a known
// tenant. nlohmann throws on a missing key or a wrong type; both mean a
// damaged file, so they become kCorruption here.
Status Decode(const std::string& text, const std::string& path,
              std::map<std::string, Tenant>* tenants, std::map<std::string, RegistryState::StoredToken>* tokens) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return CorruptionError(path + ": not a JSON object");
  }
  try {
    const json& version = doc.at("version");
    if (!version.is_number_integer() || version.get<int64_t>() < kOldestVersion ||
        version.get<int64_t>() > kFormatVersion) {
      return UnsupportedVersionError(path + ": registry version " + version.dump() +
                                     " is not supported (this build reads versions 1 to 4)");
    }
    for (const json& j : doc.at("tenants")) {
      Tenant t;
      t.name = j.at("name").get<std::string>();
      t.quota_bytes = j.at("quota_bytes").get<uint64_t>();
      t.created_ns = j.at("created_ns").get<int64_t>();
      if (!ValidateTenantName(t.name).ok() || tenants->count(t.name) != 0) {
        return CorruptionError(path + ": bad or repeated tenant name '" + t.name + "'");
      }
      if (j.contains("locations")) {
        std::string joined;
        for (const json& l : j.at("locations")) joined += (joined.empty() ? "" : ",") + l.get<std::string>();
        auto placement = ParsePlacement(joined.empty() ? "any" : joined, j.at("copies").get<int>());
        if (!placement) return CorruptionError(path + ": tenant '" + t.name + "': " + placement.error().message());
        t.placement = *placement;
      }
      if (j.contains("hold_days")) {
        const int64_t days = j.at("hold_days").get<int64_t>();
        if (!ValidateHoldDays(days).ok())
          return CorruptionError(path + ": tenant '" + t.name + "': bad hold_days " + std::to_string(days));
        t.hold_days = static_cast<int>(days);
      }
      (*tenants)[t.name] = t;
    }
    for (const json& j : doc.at("tokens")) {
      RegistryState::StoredToken t;
      t.info.id = j.at("id").get<std::string>();
      t.info.tenant = j.at("tenant").get<std::string>();
      auto role = ParseRole(j.at("role").get<std::string>());
      t.info.created_ns = j.at("created_ns").get<int64_t>();
      t.info.revoked = j.at("revoked").get<bool>();
      if (j.contains("repo")) t.info.repo = j.at("repo").get<std::string>();
      if (j.contains("repo") && !ValidateRepoName(t.info.repo).ok())
        return CorruptionError(path + ": bad repository name in token '" + t.info.id + "'");
      std::string hash_hex = j.at("secret_sha256").get<std::string>();
      if (!role || !IsTokenId(t.info.id) || !IsSecretHashHex(hash_hex) ||
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

Result<std::unique_ptr<FileRegistry>> FileRegistry::Create(const std::string& path) {
  std::unique_ptr<FileRegistry> registry(new FileRegistry(path));
  // Exclusive, so two concurrent `init`s cannot both believe they created it.
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path + ".lock", /*shared=*/false));
  auto existing = StatIdentity(path);
  if (existing) return Err(AlreadyExistsError(path + " already exists"));
  if (existing.error().code() != ErrorCode::kNotFound) return Err(existing.error());
  ASSIGN_OR_RETURN(FileIdentity id, WriteFileAtomic(path, Encode({}, {})));
  registry->InstallFrom(std::make_unique<RegistryState>(), id);
  return registry;
}

Result<std::unique_ptr<FileRegistry>> FileRegistry::Open(const std::string& path) {
  std::unique_ptr<FileRegistry> registry(new FileRegistry(path));
  RETURN_IF_ERROR(registry->Load());
  return registry;
}

Status FileRegistry::Load() {
  // Check existence first: asking about an absent registry must not leave a
  // lock file behind.
  if (auto exists = StatIdentity(path_); !exists) return exists.error();
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path_ + ".lock", /*shared=*/true));
  FileIdentity id;
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path_, &id));
  auto fresh = std::make_unique<RegistryState>();
  RETURN_IF_ERROR(Decode(text, path_, &fresh->tenants, &fresh->tokens));
  InstallFrom(std::move(fresh), id);
  return Status::Ok();
}

Status FileRegistry::Modify(const std::function<Status(RegistryState&)>& change) {
  ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path_ + ".lock", /*shared=*/false));
  // Read fresh under the lock: another process may have changed the file
  // since this object last looked, and its change must not be lost.
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path_, nullptr));
  auto fresh = std::make_unique<RegistryState>();
  RETURN_IF_ERROR(Decode(text, path_, &fresh->tenants, &fresh->tokens));
  RETURN_IF_ERROR(change(*fresh));
  ASSIGN_OR_RETURN(FileIdentity id, WriteFileAtomic(path_, Encode(fresh->tenants, fresh->tokens)));
  // Installed while the exclusive lock is still held, so two threads that
  // modify in turn install their states in the order they wrote them.
  InstallFrom(std::move(fresh), id);
  return Status::Ok();
}

void FileRegistry::InstallFrom(std::unique_ptr<RegistryState> state, const FileIdentity& id) {
  std::lock_guard<std::mutex> guard(check_mu_);
  Install(std::move(state));
  file_mtime_ns_ = id.mtime_ns;
  file_size_ = id.size;
  file_inode_ = id.inode;
  last_check_ns_ = MonotonicNs();
}

Status FileRegistry::Refresh() {
  {
    std::lock_guard<std::mutex> guard(check_mu_);
    int64_t now = MonotonicNs();
    if (now - last_check_ns_ < kRefreshIntervalNs) return Status::Ok();
    last_check_ns_ = now;
    ASSIGN_OR_RETURN(FileIdentity id, StatIdentity(path_));
    if (id == FileIdentity{file_mtime_ns_, file_size_, file_inode_}) return Status::Ok();
  }
  return Load();
}

Status FileRegistry::AddTenant(const std::string& name, uint64_t quota_bytes) {
  RETURN_IF_ERROR(ValidateTenantName(name));
  return Modify([&](RegistryState& state) -> Status {
    if (state.tenants.count(name) != 0) return AlreadyExistsError("tenant '" + name + "' exists");
    Tenant& t = state.tenants[name];
    t.name = name;
    t.quota_bytes = quota_bytes;
    t.created_ns = WallNs();
    return Status::Ok();
  });
}

Status FileRegistry::SetQuota(const std::string& name, uint64_t quota_bytes) {
  return Modify([&](RegistryState& state) -> Status {
    auto it = state.tenants.find(name);
    if (it == state.tenants.end()) return NotFoundError("no tenant '" + name + "'");
    it->second.quota_bytes = quota_bytes;
    return Status::Ok();
  });
}

Status FileRegistry::SetPlacement(const std::string& name, const Placement& placement) {
  return Modify([&](RegistryState& state) -> Status {
    auto it = state.tenants.find(name);
    if (it == state.tenants.end()) return NotFoundError("no tenant '" + name + "'");
    it->second.placement = placement;
    return Status::Ok();
  });
}

Status FileRegistry::SetHold(const std::string& name, int hold_days) {
  RETURN_IF_ERROR(ValidateHoldDays(hold_days));
  return Modify([&](RegistryState& state) -> Status {
    auto it = state.tenants.find(name);
    if (it == state.tenants.end()) return NotFoundError("no tenant '" + name + "'");
    it->second.hold_days = hold_days;
    return Status::Ok();
  });
}

Result<std::string> FileRegistry::AddToken(const std::string& tenant, Role role,
                                           const std::string& repo) {
  if (!repo.empty()) RETURN_IF_ERROR(ValidateRepoName(repo));
  NewToken made;
  Status s = Modify([&](RegistryState& state) -> Status {
    if (state.tenants.count(tenant) == 0) return NotFoundError("no tenant '" + tenant + "'");
    do {  // 64 random bits: a collision is a curiosity, but cheap to rule out
      made = MakeToken();
    } while (state.tokens.count(made.id) != 0);
    RegistryState::StoredToken t;
    t.info = TokenInfo{made.id, tenant, role, repo, WallNs(), false};
    t.secret_hash = made.secret_hash;
    state.tokens[made.id] = t;
    return Status::Ok();
  });
  if (!s.ok()) return Err(s);
  return made.token;
}

Status FileRegistry::RevokeToken(const std::string& id) {
  return Modify([&](RegistryState& state) -> Status {
    auto it = state.tokens.find(id);
    if (it == state.tokens.end()) return NotFoundError("no token with id '" + id + "'");
    it->second.info.revoked = true;
    return Status::Ok();
  });
}

}  // namespace coffre::vault
