#include "agent/daemon/unlocked_keys.h"

#include "core/crypto/hash.h"

namespace coffre::daemon {

std::string UnlockedKeys::KeyOf(const std::string& location, ByteView passphrase) const {
  // The passphrase itself is not kept: only its hash, next to the location.
  return location + "\n" + HexEncode(crypto::Sha256(passphrase));
}

Result<std::unique_ptr<repo::Repository>> UnlockedKeys::Open(const std::string& location,
                                                           const BackendOpener& open_backend,
                                                           ByteView passphrase) {
  const std::string key = KeyOf(location, passphrase);
  std::shared_ptr<const Entry> known;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) known = it->second;
  }
  if (known) {
    ASSIGN_OR_RETURN(auto backend, open_backend());
    auto reopened = repo::Repository::Reopen(std::move(backend), known->slot, known->keys);
    if (reopened) {
      std::lock_guard lock(mu_);
      ++reused_;
      return reopened;
    }
    if (reopened.error().code() == ErrorCode::kUnavailable) return Err(reopened.error());
    // Revoked, replaced, or another repository there: forget, and let the
    // passphrase decide as on a first run.
    std::lock_guard lock(mu_);
    entries_.erase(key);
  }
  ASSIGN_OR_RETURN(auto backend, open_backend());
  ASSIGN_OR_RETURN(auto repo, repo::Repository::Open(std::move(backend), passphrase));
  auto entry = std::make_shared<const Entry>(Entry{repo->key_in_use(), repo->keys()});
  std::lock_guard lock(mu_);
  entries_[key] = std::move(entry);
  return repo;
}

uint64_t UnlockedKeys::reused() const {
  std::lock_guard lock(mu_);
  return reused_;
}

}  // namespace coffre::daemon
