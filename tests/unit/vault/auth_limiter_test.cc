// AuthFailureLimiter: failed authentications are limited per address and per
// tenant, refill over the window, and never refuse an address that has not
// failed.
#include "vault/api/auth_limiter.h"

#include <catch2/catch.hpp>

namespace coffre::vault {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

struct FakeClock {
  int64_t now = 1000 * kSecond;
  std::function<int64_t()> Fn() {
    return [this] { return now; };
  }
};

AuthFailureLimiter::Limits Limits(int per_address, int per_tenant, size_t max_tracked = 1000) {
  AuthFailureLimiter::Limits l;
  l.per_address = per_address;
  l.per_tenant = per_tenant;
  l.window_ns = 60 * kSecond;
  l.max_tracked = max_tracked;
  return l;
}

TEST_CASE("an address is refused after its failures, and served again as the bucket refills",
          "[unit][vault]") {
  FakeClock clock;
  AuthFailureLimiter limiter(Limits(3, 0), clock.Fn());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(limiter.RefusalSeconds("192.0.2.1", "acme") == 0);
    limiter.CountFailure("192.0.2.1", "acme");
  }
  // 3 per 60 s: one failure back every 20 s.
  CHECK(limiter.RefusalSeconds("192.0.2.1", "acme") == 20);
  CHECK(limiter.RefusalSeconds("192.0.2.2", "acme") == 0);
  clock.now += 15 * kSecond;
  CHECK(limiter.RefusalSeconds("192.0.2.1", "acme") == 5);
  clock.now += 5 * kSecond;
  CHECK(limiter.RefusalSeconds("192.0.2.1", "acme") == 0);
  limiter.CountFailure("192.0.2.1", "acme");
  CHECK(limiter.RefusalSeconds("192.0.2.1", "acme") == 20);
}

TEST_CASE("a tenant under attack refuses the failing addresses only", "[unit][vault]") {
  FakeClock clock;
  AuthFailureLimiter limiter(Limits(100, 4), clock.Fn());
  // Four addresses fail once each: the tenant's bucket is empty.
  for (int i = 0; i < 4; ++i) limiter.CountFailure("198.51.100." + std::to_string(i), "acme");
  CHECK(limiter.RefusalSeconds("198.51.100.0", "acme") == 15);
  CHECK(limiter.RefusalSeconds("198.51.100.3", "acme") == 15);
  // The tenant's own agent, which never failed, is still checked.
  CHECK(limiter.RefusalSeconds("203.0.113.9", "acme") == 0);
  // A failing address is not refused on another tenant's paths.
  CHECK(limiter.RefusalSeconds("198.51.100.0", "other") == 0);
  clock.now += 15 * kSecond;
  CHECK(limiter.RefusalSeconds("198.51.100.0", "acme") == 0);
}

TEST_CASE("a limit of 0 is off, and an address is forgotten once its window passed",
          "[unit][vault]") {
  FakeClock clock;
  AuthFailureLimiter off(Limits(0, 0), clock.Fn());
  for (int i = 0; i < 1000; ++i) off.CountFailure("192.0.2.1", "acme");
  CHECK(off.RefusalSeconds("192.0.2.1", "acme") == 0);

  AuthFailureLimiter tenant_only(Limits(0, 1), clock.Fn());
  tenant_only.CountFailure("192.0.2.1", "acme");
  CHECK(tenant_only.RefusalSeconds("192.0.2.1", "acme") > 0);
  clock.now += 61 * kSecond;
  CHECK(tenant_only.RefusalSeconds("192.0.2.1", "acme") == 0);
}

TEST_CASE("past max_tracked, new addresses go untracked and old full buckets are forgotten",
          "[unit][vault]") {
  FakeClock clock;
  AuthFailureLimiter limiter(Limits(1, 0, /*max_tracked=*/2), clock.Fn());
  limiter.CountFailure("a", "t");
  limiter.CountFailure("b", "t");
  limiter.CountFailure("c", "t");  // no room: untracked, never refused
  CHECK(limiter.RefusalSeconds("a", "t") > 0);
  CHECK(limiter.RefusalSeconds("b", "t") > 0);
  CHECK(limiter.RefusalSeconds("c", "t") == 0);
  clock.now += 61 * kSecond;  // a and b are full again: room is made
  limiter.CountFailure("c", "t");
  CHECK(limiter.RefusalSeconds("c", "t") > 0);
}

}  // namespace
}  // namespace coffre::vault
