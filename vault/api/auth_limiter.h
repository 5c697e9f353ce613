// AuthFailureLimiter: how many failed authentications the vault accepts from
// one address and against one tenant before it stops checking tokens there
// for a while (docs/vault-api.md, "Failed authentications"). A guess at a
// token costs the guesser a token bucket's worth of patience, not the vault a
// token check, and a tenant's own agents keep working while someone elsewhere
// guesses at its tokens.
//
// Each address and each tenant has a bucket of `per_address` or `per_tenant`
// failures that refills steadily over `window` (0 turns that limit off).
// A request is refused before its token is checked when its address's bucket
// is empty, or when its tenant's bucket is empty and its address has failed
// recently (an address with no failure on record is always checked).
// Memory is bounded: at most `max_tracked` addresses and tenants each;
// buckets that are full again are forgotten first, and past the bound a new
// key goes untracked (so it is never refused for lack of room).
// Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace coffre::vault {

class AuthFailureLimiter {
 public:
  struct Limits {
    int per_address = 20;
    int per_tenant = 100;
    int64_t window_ns = 60'000'000'000;
    size_t max_tracked = 100'000;
  };
  // `now` gives monotonic nanoseconds (tests pass a fake clock).
  explicit AuthFailureLimiter(Limits limits, std::function<int64_t()> now = nullptr);

  // 0 if a request from `address` on `tenant`'s paths may have its token
  // checked; otherwise the whole seconds (at least 1) until it may, for
  // Retry-After.
  int64_t RefusalSeconds(const std::string& address, const std::string& tenant);
  // Records one failed authentication from `address` on `tenant`'s paths.
  void CountFailure(const std::string& address, const std::string& tenant);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t at_ns = 0;  // when `tokens` was last brought up to date
  };
  using Table = std::unordered_map<std::string, Bucket>;

  // Refills `b` up to `now`; true if it is full again.
  bool Refill(Bucket& b, int capacity, int64_t now) const;
  // Seconds until `b` holds one token; 0 if it does.
  int64_t WaitSeconds(const Bucket& b, int capacity) const;
  // Takes one token from `key`'s bucket in `table`, creating it full.
  void Take(Table& table, const std::string& key, int capacity, int64_t now);

  const Limits limits_;
  const std::function<int64_t()> now_;
  std::mutex mu_;
  Table addresses_;
  Table tenants_;
};

}  // namespace coffre::vault
