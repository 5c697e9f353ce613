// IndexTable: the in-memory index answers "where is this blob" exactly as the
// packs added to it say, keeps the first location of a duplicate, and stays
// consistent under concurrent readers and writers.
#include "agent/repo/index_table.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace coffre::repo {
namespace {

using format::BlobType;
using format::IndexedPack;
using format::PackEntry;

// Ids with a recognisable pattern: the first 8 bytes hold `n`.
template <typename IdT>
IdT NumberedId(uint64_t n, uint8_t tag) {
  std::array<uint8_t, 32> bytes{};
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  bytes[31] = tag;
  return IdT(bytes);
}

BlobId Blob(uint64_t n) { return NumberedId<BlobId>(n, 0xb1); }
PackId Pack(uint64_t n) { return NumberedId<PackId>(n, 0x9a); }

// A pack numbered `p` holding blobs first..first+count-1; offsets and lengths
// are derived from the blob number so any reader can check them.
IndexedPack MakePack(uint64_t p, uint64_t first, uint64_t count) {
  IndexedPack pack;
  pack.id = Pack(p);
  pack.salt.fill(static_cast<uint8_t>(p));
  pack.size = 1'000'000 + p;
  uint64_t offset = format::kPackPreambleSize;
  for (uint64_t b = first; b < first + count; ++b) {
    PackEntry e;
    e.id = Blob(b);
    e.type = b % 5 == 0 ? BlobType::kTree : BlobType::kData;
    e.codec = b % 2 ? compress::Codec::kZstd : compress::Codec::kNone;
    e.offset = offset;
    e.stored_len = static_cast<uint32_t>(100 + b % 1000);
    e.raw_len = static_cast<uint32_t>(3 * e.stored_len);
    offset += e.stored_len;
    pack.entries.push_back(e);
  }
  return pack;
}

TEST_CASE("index table finds every blob of the packs added to it", "[unit][index_table]") {
  IndexTable table;
  IndexedPack a = MakePack(1, 0, 10);
  IndexedPack b = MakePack(2, 10, 5);
  table.AddPack(a);
  table.AddPack(b);

  CHECK(table.blob_count() == 15);
  CHECK(table.pack_count() == 2);
  for (const IndexedPack* pack : {&a, &b}) {
    for (const PackEntry& e : pack->entries) {
      INFO("blob " << e.id.Short());
      REQUIRE(table.HasBlob(e.id));
      auto loc = table.Find(e.id);
      REQUIRE(loc);
      CHECK(loc->pack == pack->id);
      CHECK(loc->salt == pack->salt);
      CHECK(loc->entry == e);
    }
  }
  CHECK_FALSE(table.HasBlob(Blob(15)));
  CHECK_FALSE(table.Find(Blob(15)));

  std::vector<PackRecord> packs = table.Packs();
  REQUIRE(packs.size() == 2);
  std::set<PackId> ids{packs[0].id, packs[1].id};
  CHECK(ids == std::set<PackId>{Pack(1), Pack(2)});
  for (const PackRecord& r : packs) {
    const IndexedPack& src = r.id == a.id ? a : b;
    CHECK(r.size == src.size);
    CHECK(r.salt == src.salt);
  }
}

TEST_CASE("index table keeps the first location of a blob stored twice", "[unit][index_table]") {
  IndexTable table;
  IndexedPack first = MakePack(1, 0, 4);
  // An interrupted run stored blob 2 again in another pack, at another offset.
  IndexedPack second = MakePack(2, 2, 4);
  second.entries[0].offset += 7;
  table.AddPack(first);
  table.AddPack(second);

  CHECK(table.blob_count() == 6);
  auto loc = table.Find(Blob(2));
  REQUIRE(loc);
  CHECK(loc->pack == Pack(1));
  CHECK(loc->entry == first.entries[2]);
  // Blobs only the second pack has are found there.
  CHECK(table.Find(Blob(5))->pack == Pack(2));

  // Adding the same pack again (LoadIndex after a backup in one process)
  // changes nothing.
  table.AddPack(second);
  CHECK(table.pack_count() == 2);
  CHECK(table.blob_count() == 6);
  CHECK(table.Find(Blob(2))->pack == Pack(1));
}

TEST_CASE("index table knows which packs it holds", "[unit][index_table]") {
  IndexTable table;
  CHECK_FALSE(table.HasPack(Pack(1)));
  table.AddPack(MakePack(1, 0, 3));
  // A pack with no entries (all its blobs were duplicates) is still a pack.
  table.AddPack(MakePack(3, 100, 0));
  CHECK(table.HasPack(Pack(1)));
  CHECK(table.HasPack(Pack(3)));
  CHECK_FALSE(table.HasPack(Pack(2)));
  CHECK(table.pack_count() == 2);
}

TEST_CASE("index table groups its entries by the pack that holds them", "[unit][index_table]") {
  IndexTable table;
  IndexedPack a = MakePack(1, 0, 6);
  IndexedPack b = MakePack(2, 4, 6);  // blobs 4 and 5 are duplicates of a's
  table.AddPack(a);
  table.AddPack(b);

  auto by_pack = table.EntriesByPack();
  REQUIRE(by_pack.size() == 2);
  auto sorted = [](std::vector<PackEntry> v) {
    std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.offset < y.offset; });
    return v;
  };
  CHECK(sorted(by_pack[Pack(1)]) == a.entries);
  // The duplicates are listed under the location the table uses: pack 1.
  std::vector<PackEntry> b_own(b.entries.begin() + 2, b.entries.end());
  CHECK(sorted(by_pack[Pack(2)]) == b_own);
}

TEST_CASE("index table stays consistent with concurrent readers and writers",
          "[unit][index_table][tsan]") {
  IndexTable table;
  constexpr uint64_t kPacksPerWriter = 200;
  constexpr uint64_t kBlobsPerPack = 50;
  std::atomic<bool> writers_done{false};
  std::atomic<uint64_t> bad{0};
  std::atomic<uint64_t> found{0};

  auto writer = [&](uint64_t w) {
    for (uint64_t i = 0; i < kPacksPerWriter; ++i) {
      uint64_t p = w * kPacksPerWriter + i;
      table.AddPack(MakePack(p, p * kBlobsPerPack, kBlobsPerPack));
    }
  };
  // A reader checks that whatever it finds is exactly what the writer added:
  // the right pack (p = blob / kBlobsPerPack) and the right entry.
  auto reader = [&](uint64_t seed) {
    uint64_t x = seed;
    const uint64_t total = 2 * kPacksPerWriter * kBlobsPerPack;
    do {
      for (int i = 0; i < 1000; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t b = (x >> 33) % total;
        auto loc = table.Find(Blob(b));
        if (!loc) continue;
        ++found;
        uint64_t p = b / kBlobsPerPack;
        IndexedPack expect = MakePack(p, p * kBlobsPerPack, kBlobsPerPack);
        if (loc->pack != expect.id || loc->salt != expect.salt ||
            !(loc->entry == expect.entries[b % kBlobsPerPack]) || !table.HasPack(loc->pack))
          ++bad;
      }
      (void)table.EntriesByPack();
    } while (!writers_done.load());
  };

  std::vector<std::thread> threads;
  threads.emplace_back(reader, 1);
  threads.emplace_back(reader, 2);
  threads.emplace_back(writer, 0);
  threads.emplace_back(writer, 1);
  threads[2].join();
  threads[3].join();
  writers_done = true;
  threads[0].join();
  threads[1].join();

  CHECK(bad.load() == 0);
  CHECK(table.pack_count() == 2 * kPacksPerWriter);
  CHECK(table.blob_count() == 2 * kPacksPerWriter * kBlobsPerPack);
  size_t grouped = 0;
  for (const auto& [id, entries] : table.EntriesByPack()) grouped += entries.size();
  CHECK(grouped == 2 * kPacksPerWriter * kBlobsPerPack);
  for (uint64_t b = 0; b < 2 * kPacksPerWriter * kBlobsPerPack; b += 97)
    CHECK(table.Find(Blob(b))->pack == Pack(b / kBlobsPerPack));
}

}  // namespace
}  // namespace coffre::repo
