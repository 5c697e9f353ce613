#include "vault/api/auth_limiter.h"

#include <algorithm>
#include <cmath>

#include "core/base/clock.h"

namespace coffre::vault {

AuthFailureLimiter::AuthFailureLimiter(Limits limits, std::function<int64_t()> now)
    : limits_(limits), now_(now ? std::move(now) : [] { return MonotonicNs(); }) {}

bool AuthFailureLimiter::Refill(Bucket& b, int capacity, int64_t now) const {
  if (now > b.at_ns) {
    const double rate = static_cast<double>(capacity) / static_cast<double>(limits_.window_ns);
    b.tokens = std::min<double>(capacity, b.tokens + rate * static_cast<double>(now - b.at_ns));
    b.at_ns = now;
  }
  return b.tokens >= capacity;
}

int64_t AuthFailureLimiter::WaitSeconds(const Bucket& b, int capacity) const {
  if (b.tokens >= 1) return 0;
  const double ns_per_token = static_cast<double>(limits_.window_ns) / capacity;
  const double wait_ns = (1 - b.tokens) * ns_per_token;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_ns / 1e9)));
}

void AuthFailureLimiter::Take(Table& table, const std::string& key, int capacity, int64_t now) {
  auto it = table.find(key);
  if (it == table.end()) {
    if (table.size() >= limits_.max_tracked) {
      for (auto i = table.begin(); i != table.end();) {
        i = Refill(i->second, capacity, now) ? table.erase(i) : std::next(i);
      }
      if (table.size() >= limits_.max_tracked) return;
    }
    it = table.emplace(key, Bucket{static_cast<double>(capacity), now}).first;
  }
  Refill(it->second, capacity, now);
  it->second.tokens = std::max(0.0, it->second.tokens - 1);
}

int64_t AuthFailureLimiter::RefusalSeconds(const std::string& address, const std::string& tenant) {
  std::lock_guard lock(mu_);
  const int64_t now = now_();
  auto a = addresses_.find(address);
  if (a == addresses_.end()) return 0;  // never failed, or forgotten since
  // A full bucket means no failure within the window: forgotten.
  if (Refill(a->second, std::max(1, limits_.per_address), now)) {
    addresses_.erase(a);
    return 0;
  }
  int64_t wait = limits_.per_address > 0 ? WaitSeconds(a->second, limits_.per_address) : 0;
  if (limits_.per_tenant > 0) {
    if (auto t = tenants_.find(tenant); t != tenants_.end()) {
      if (Refill(t->second, limits_.per_tenant, now)) {
        tenants_.erase(t);
      } else {
        wait = std::max(wait, WaitSeconds(t->second, limits_.per_tenant));
      }
    }
  }
  return wait;
}

void AuthFailureLimiter::CountFailure(const std::string& address, const std::string& tenant) {
  std::lock_guard lock(mu_);
  const int64_t now = now_();
  // An address is tracked even when only the tenant limit is on: that limit
  // refuses only addresses with a failure on record.
  Take(addresses_, address, std::max(1, limits_.per_address), now);
  if (limits_.per_tenant > 0) Take(tenants_, tenant, limits_.per_tenant, now);
}

}  // namespace coffre::vault
