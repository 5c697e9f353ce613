// PackReadCache and the repository's read-ahead: a stretch serves every
// range inside it and nothing outside; the least recently used stretch goes
// first; and on a backend that asks for read-ahead, blobs written together
// load back with far fewer reads, byte for byte.
#include "agent/repo/pack_read_cache.h"

#include <atomic>

#include <catch2/catch.hpp>

#include "agent/repo/pack_uploader.h"
#include "core/storage/memory_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/random_data.h"

namespace coffre::repo {
namespace {

PackId Pack(uint8_t n) { return PackId(crypto::Sha256(ByteView(&n, 1))); }

TEST_CASE("PackReadCache serves ranges inside a stretch and nothing else", "[unit][repo]") {
  PackReadCache cache(1 << 20);
  Bytes stretch = testing::RandomBytes(1, 1000);
  cache.Insert(Pack(1), 500, stretch);
  auto inside = cache.Find(Pack(1), 600, 100);
  REQUIRE(inside);
  CHECK(*inside == Bytes(stretch.begin() + 100, stretch.begin() + 200));
  CHECK(cache.Find(Pack(1), 500, 1000));             // the whole stretch
  CHECK_FALSE(cache.Find(Pack(1), 499, 10));         // starts before it
  CHECK_FALSE(cache.Find(Pack(1), 1400, 101));       // runs past its end
  CHECK_FALSE(cache.Find(Pack(2), 600, 100));        // another pack
  CHECK(cache.Find(Pack(1), 1500, 0));               // empty range at the end
}

TEST_CASE("PackReadCache drops the least recently used stretch first", "[unit][repo]") {
  PackReadCache cache(3000);
  cache.Insert(Pack(1), 0, Bytes(1000));
  cache.Insert(Pack(2), 0, Bytes(1000));
  cache.Insert(Pack(3), 0, Bytes(1000));
  REQUIRE(cache.Find(Pack(1), 0, 10));  // pack 1 is now the most recent
  cache.Insert(Pack(4), 0, Bytes(1000));
  CHECK(cache.Find(Pack(1), 0, 10));
  CHECK_FALSE(cache.Find(Pack(2), 0, 10));
  CHECK(cache.Find(Pack(3), 0, 10));
  CHECK(cache.Find(Pack(4), 0, 10));
  cache.Insert(Pack(5), 0, Bytes(4000));  // larger than the cache: not kept
  CHECK_FALSE(cache.Find(Pack(5), 0, 10));
}

// A memory backend that counts loads and asks for read-ahead, as a vault.
class RoundTripBackend : public storage::MemoryBackend {
 public:
  Result<Bytes> Load(const storage::ObjectName& object, uint64_t offset,
                     uint64_t length) override {
    if (object.kind == storage::ObjectKind::kData) ++data_loads;
    return MemoryBackend::Load(object, offset, length);
  }
  uint64_t ReadAheadBytes() const override { return read_ahead; }
  std::atomic<int> data_loads{0};
  uint64_t read_ahead = 0;
};

TEST_CASE("blobs load with read-ahead in far fewer reads, unchanged", "[unit][repo]") {
  auto owned = std::make_unique<RoundTripBackend>();
  RoundTripBackend* backend = owned.get();
  auto repo = Repository::Init(std::move(owned), AsBytes("pw"), testing::FastInitOptions());
  REQUIRE(repo);
  std::vector<std::pair<BlobId, Bytes>> blobs;
  {
    PackUploader up(repo->get(), /*target_pack_size=*/256 << 10);
    for (uint64_t i = 0; i < 200; ++i) {
      Bytes plain = testing::RandomBytes(100 + i, 3000);
      BlobId id((*repo)->NewHasher()->Compute(plain));
      REQUIRE(up.Reserve(id));
      REQUIRE(up.AddBlob(format::BlobType::kData, id, compress::Codec::kNone,
                         static_cast<uint32_t>(plain.size()), plain)
                  .ok());
      blobs.emplace_back(id, std::move(plain));
    }
    REQUIRE(up.Flush().ok());
  }
  auto load_all = [&] {
    backend->data_loads = 0;
    for (const auto& [id, plain] : blobs) {
      auto loaded = (*repo)->LoadBlob(id);
      REQUIRE(loaded);
      REQUIRE(*loaded == plain);
    }
    return backend->data_loads.load();
  };
  CHECK(load_all() == 200);  // a local disk: one read a blob
  backend->read_ahead = 64 << 10;
  const int with_read_ahead = load_all();
  INFO("reads with 64 KiB read-ahead: " << with_read_ahead);
  CHECK(with_read_ahead <= 20);  // 600 KB in 64 KiB stretches
}

}  // namespace
}  // namespace coffre::repo

namespace coffre::repo {
namespace {

TEST_CASE("only a read that continues a recent one of the same pack counts as sequential",
          "[unit][pack_read_cache]") {
  PackReadCache cache(1 << 20);
  PackId a(crypto::Sha256(AsBytes("a"))), b(crypto::Sha256(AsBytes("b")));
  CHECK_FALSE(cache.Continues(a, 40));  // nothing read yet: a lone read
  cache.NoteRead(a, 1000);
  CHECK(cache.Continues(a, 1000));
  CHECK(cache.Continues(a, 1000 + PackReadCache::kSequentialGap));
  CHECK_FALSE(cache.Continues(a, 1001 + PackReadCache::kSequentialGap));
  CHECK_FALSE(cache.Continues(a, 999));  // backwards
  CHECK_FALSE(cache.Continues(b, 1000));  // another pack
}

}  // namespace
}  // namespace coffre::repo
