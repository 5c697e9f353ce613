// ReadPackContents: the blob list of a pack from its own header, in as few
// reads as the layout allows, and a clear refusal of a damaged tail.
#include "core/format/pack_reader.h"

#include <catch2/catch.hpp>
#include <vector>

#include "core/crypto/hash.h"
#include "core/crypto/random.h"
#include "tests/support/random_data.h"

namespace coffre::format {
namespace {

struct Built {
  crypto::Key key;
  PackWriter::Finished pack;
};

Built MakePack(size_t blobs, size_t blob_size) {
  Built b;
  crypto::RandomFill(b.key.data(), b.key.size());
  PackWriter writer(b.key);
  for (size_t i = 0; i < blobs; ++i) {
    Bytes data = testing::RandomBytes(i + 1, blob_size);
    BlobId id(crypto::Sha256(data));
    writer.AddBlob(BlobType::kData, id, compress::Codec::kNone,
                   static_cast<uint32_t>(data.size()), data);
  }
  b.pack = writer.Finish();
  return b;
}

// Serves ranges of `bytes`, counting the reads.
struct Source {
  const Bytes& bytes;
  int reads = 0;
  Result<Bytes> operator()(uint64_t offset, uint64_t length) {
    ++reads;
    if (offset + length > bytes.size()) return Err(CorruptionError("read past the end"));
    return Bytes(bytes.begin() + static_cast<ptrdiff_t>(offset),
                 bytes.begin() + static_cast<ptrdiff_t>(offset + length));
  }
};

TEST_CASE("a small pack's contents come from one read", "[unit][pack_reader]") {
  Built b = MakePack(3, 1000);
  Source source{b.pack.bytes};
  auto contents = ReadPackContents(b.key, b.pack.bytes.size(), std::ref(source));
  REQUIRE(contents);
  CHECK(contents->entries == b.pack.entries);
  CHECK(contents->salt == b.pack.salt);
  CHECK(source.reads == 1);
}

TEST_CASE("a large pack's contents come from its tail and preamble", "[unit][pack_reader]") {
  Built b = MakePack(40, 100 * 1024);
  Source source{b.pack.bytes};
  auto contents = ReadPackContents(b.key, b.pack.bytes.size(), std::ref(source));
  REQUIRE(contents);
  CHECK(contents->entries == b.pack.entries);
  CHECK(source.reads == 2);
}

TEST_CASE("a header longer than the first guess is read whole", "[unit][pack_reader]") {
  // About 60 bytes of header per entry: 3000 tiny blobs pass 64 KiB.
  Built b = MakePack(3000, 40);
  Source source{b.pack.bytes};
  auto contents = ReadPackContents(b.key, b.pack.bytes.size(), std::ref(source));
  REQUIRE(contents);
  CHECK(contents->entries.size() == 3000);
  CHECK(source.reads == 3);
}

TEST_CASE("a truncated or damaged pack tail is refused as corruption", "[unit][pack_reader]") {
  Built b = MakePack(3, 1000);
  Bytes cut(b.pack.bytes.begin(), b.pack.bytes.end() - 5);
  Source short_source{cut};
  auto truncated = ReadPackContents(b.key, cut.size(), std::ref(short_source));
  REQUIRE_FALSE(truncated);
  CHECK(truncated.error().code() == ErrorCode::kCorruption);
  Bytes tiny(20, 0);
  Source tiny_source{tiny};
  auto too_short = ReadPackContents(b.key, tiny.size(), std::ref(tiny_source));
  REQUIRE_FALSE(too_short);
  CHECK(too_short.error().code() == ErrorCode::kCorruption);
  CHECK(tiny_source.reads == 0);
  Bytes flipped = b.pack.bytes;
  flipped[flipped.size() - 20] ^= 1;  // inside the sealed header
  Source flipped_source{flipped};
  auto damaged = ReadPackContents(b.key, flipped.size(), std::ref(flipped_source));
  REQUIRE_FALSE(damaged);
  CHECK(damaged.error().code() == ErrorCode::kCorruption);
}

}  // namespace
}  // namespace coffre::format
