// FetchPlan: a restore's batch asks for each needed blob once, pack by pack
// in offset order, in reads that bridge small gaps and stay within their
// bound, and every use of a blob is handed back with it.
#include "agent/restore/fetch_plan.h"

#include <catch2/catch.hpp>

namespace coffre::restore {
namespace {

PackId Pack(uint8_t n) {
  std::array<uint8_t, 32> bytes{};
  bytes[0] = n;
  return PackId(bytes);
}

BlobId Blob(uint8_t pack, uint32_t n) {
  std::array<uint8_t, 32> bytes{};
  bytes[0] = pack;
  bytes[1] = static_cast<uint8_t>(n);
  bytes[2] = static_cast<uint8_t>(n >> 8);
  bytes[31] = 0xb1;
  return BlobId(bytes);
}

repo::BlobLocation At(uint8_t pack, uint32_t n, uint64_t offset, uint32_t length) {
  repo::BlobLocation loc;
  loc.pack = Pack(pack);
  loc.entry.id = Blob(pack, n);
  loc.entry.offset = offset;
  loc.entry.stored_len = length;
  loc.entry.raw_len = length;
  return loc;
}

TEST_CASE("blobs named in any order are read pack by pack, in offset order") {
  FetchPlan plan;
  plan.Add(At(2, 1, 5000, 100), {0, 0});
  plan.Add(At(1, 2, 2000, 100), {0, 100});
  plan.Add(At(1, 1, 1000, 100), {1, 0});
  plan.Add(At(2, 0, 10, 100), {1, 100});
  auto reads = plan.Reads(FetchLimits{});
  REQUIRE(reads.size() == 2);
  CHECK(reads[0].pack == Pack(1));
  CHECK(reads[0].offset == 1000);
  CHECK(reads[0].length == 1100);
  CHECK(reads[1].pack == Pack(2));
  CHECK(reads[1].offset == 10);
  CHECK(reads[1].length == 5090);
  const auto& blobs = plan.blobs();
  for (const PackRead& r : reads) {
    for (size_t i = r.first; i < r.last; ++i) {
      CHECK(blobs[i].loc.pack == r.pack);
      CHECK(blobs[i].loc.entry.offset >= r.offset);
      CHECK(blobs[i].loc.entry.offset + blobs[i].loc.entry.stored_len <= r.offset + r.length);
      if (i > r.first) CHECK(blobs[i - 1].loc.entry.offset < blobs[i].loc.entry.offset);
    }
  }
  CHECK(reads[0].first == 0);
  CHECK(reads[0].last == 2);
  CHECK(reads[1].first == 2);
  CHECK(reads[1].last == 4);
}

TEST_CASE("a blob used many times is read once and keeps every use") {
  FetchPlan plan;
  for (uint32_t use = 0; use < 5; ++use) plan.Add(At(1, 7, 4096, 1000), {use, use * 1000ull});
  plan.Add(At(1, 8, 5096, 1000), {9, 0});
  CHECK(plan.uses() == 6);
  auto reads = plan.Reads(FetchLimits{});
  REQUIRE(reads.size() == 1);
  CHECK(reads[0].length == 2000);
  REQUIRE(plan.blobs().size() == 2);
  const PlannedBlob& repeated = plan.blobs()[0];
  REQUIRE(repeated.uses.size() == 5);
  for (uint32_t use = 0; use < 5; ++use) {
    CHECK(repeated.uses[use].file == use);
    CHECK(repeated.uses[use].offset == use * 1000ull);
  }
}

TEST_CASE("a gap wider than max_gap starts a new read, a narrower one is read through") {
  FetchLimits limits;
  limits.max_gap = 1000;
  FetchPlan plan;
  plan.Add(At(1, 0, 0, 100), {0, 0});
  plan.Add(At(1, 1, 1100, 100), {0, 100});  // gap 1000: bridged
  plan.Add(At(1, 2, 2201, 100), {0, 200});  // gap 1001: a new read
  auto reads = plan.Reads(limits);
  REQUIRE(reads.size() == 2);
  CHECK(reads[0].offset == 0);
  CHECK(reads[0].length == 1200);
  CHECK(reads[1].offset == 2201);
  CHECK(reads[1].length == 100);
}

TEST_CASE("reads stay within max_read, and a larger blob is read alone") {
  FetchLimits limits;
  limits.max_gap = 0;
  limits.max_read = 1000;
  FetchPlan plan;
  uint64_t offset = 0;
  for (uint32_t n = 0; n < 10; ++n, offset += 300) plan.Add(At(1, n, offset, 300), {0, offset});
  plan.Add(At(1, 10, offset, 5000), {0, offset});
  auto reads = plan.Reads(limits);
  uint64_t covered = 0;
  for (const PackRead& r : reads) {
    if (r.last - r.first > 1) CHECK(r.length <= limits.max_read);
    CHECK(r.offset == covered);  // contiguous blobs: nothing skipped, nothing read twice
    covered += r.length;
  }
  CHECK(covered == offset + 5000);
  CHECK(reads.back().length == 5000);
  CHECK(reads.back().last - reads.back().first == 1);
  CHECK(reads.size() == 5);  // 3 + 3 + 3 + 1 blobs of 300 bytes, then the large one
}

TEST_CASE("an empty plan has no reads") {
  FetchPlan plan;
  CHECK(plan.empty());
  CHECK(plan.Reads(FetchLimits{}).empty());
}

}  // namespace
}  // namespace coffre::restore
