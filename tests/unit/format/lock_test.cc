// Lock records (docs/format/lock.md): locks and prune plans round-trip, and
// the decoder refuses unknown types and kinds, trailing bytes, unsorted
// packs and counts larger than the input.
#include "core/format/lock.h"

#include <catch2/catch.hpp>

namespace coffre::format {
namespace {

PackId PackOf(uint8_t b) {
  std::array<uint8_t, PackId::kSize> bytes{};
  bytes.fill(b);
  return PackId(bytes);
}

TEST_CASE("a lock and a prune plan decode to what was encoded", "[unit][lock]") {
  Lock lock;
  lock.kind = LockKind::kPrune;
  lock.session.fill(7);
  lock.created_ns = 1'795'917'600'000'000'000;
  lock.refreshed_ns = lock.created_ns + 300'000'000'000;
  lock.host = "srv-compta";
  lock.pid = 4242;
  auto back = DecodeLockRecord(EncodeLockRecord(lock));
  REQUIRE(back);
  REQUIRE(std::holds_alternative<Lock>(*back));
  CHECK(std::get<Lock>(*back) == lock);

  PrunePlan plan;
  plan.created_ns = -5;  // signed: a clock before 1970 still round-trips
  plan.visible_by_ns = 60'000'000'000;
  plan.condemned = {PackOf(1), PackOf(2), PackOf(9)};
  auto plan_back = DecodeLockRecord(EncodeLockRecord(plan));
  REQUIRE(plan_back);
  REQUIRE(std::holds_alternative<PrunePlan>(*plan_back));
  CHECK(std::get<PrunePlan>(*plan_back) == plan);
}

TEST_CASE("the lock decoder refuses malformed records", "[unit][lock]") {
  Lock lock;
  Bytes good = EncodeLockRecord(lock);
  auto refused = [](Bytes bytes) {
    auto r = DecodeLockRecord(bytes);
    return !r && r.error().code() == ErrorCode::kCorruption;
  };
  CHECK(refused({}));
  CHECK(refused({3}));  // unknown record type
  Bytes bad_kind = good;
  bad_kind[1] = 9;
  CHECK(refused(bad_kind));
  Bytes trailing = good;
  trailing.push_back(0);
  CHECK(refused(trailing));
  CHECK(refused(Bytes(good.begin(), good.end() - 1)));

  PrunePlan plan;
  plan.condemned = {PackOf(5), PackOf(4)};  // not sorted
  CHECK(refused(EncodeLockRecord(plan)));
  // A count of 2^40 packs with no bytes behind it costs nothing.
  CHECK(refused({2, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20}));
}

}  // namespace
}  // namespace coffre::format
