// UnlockedKeys: the keys the agent daemon unlocked for each job's repository,
// kept between runs so that a scheduled run does not pay the passphrase KDF
// (scrypt: about 0.3 s and 32 MiB) every time.
//
// An entry is keyed by the repository's location and a hash of the
// passphrase: a job whose passphrase file changed, or that points elsewhere,
// misses and derives again. A hit still reads the config and checks that the
// key slot exists (Repository::Reopen), so a revoked key or another
// repository at that place is noticed at the next run; the entry is then
// dropped and the passphrase tried from scratch. The keys never leave memory.
// Thread-safety: Open may be called from several jobs' threads at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/repo/repository.h"

namespace coffre::daemon {

class UnlockedKeys {
 public:
  using BackendOpener = std::function<Result<std::unique_ptr<storage::Backend>>()>;
  // Opens the repository at `location` (each call of `open_backend` gives a
  // fresh backend for it) with `passphrase`, reusing the keys of an earlier
  // Open of the same location and passphrase while they still open it, and
  // remembers what opened it.
  Result<std::unique_ptr<repo::Repository>> Open(const std::string& location,
                                                 const BackendOpener& open_backend,
                                                 ByteView passphrase);
  // Opens that reused remembered keys (for tests and the log).
  uint64_t reused() const;

 private:
  struct Entry {
    ObjectId slot;
    format::MasterKeys keys;
  };
  std::string KeyOf(const std::string& location, ByteView passphrase) const;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Entry>> entries_;
  uint64_t reused_ = 0;
};

}  // namespace coffre::daemon
