#include "core/format/pack.h"

#include <catch2/catch.hpp>

#include "core/base/encoding.h"
#include "core/crypto/hash.h"
#include "tests/support/random_data.h"

namespace coffre::format {
namespace {

crypto::Key TestKey(uint8_t fill) {
  crypto::Key key;
  key.fill(fill);
  return key;
}

BlobId IdOf(const crypto::Key& key, ByteView plain) {
  return BlobId(crypto::HmacSha256(key).Compute(plain));
}

struct Built {
  PackWriter::Finished pack;
  std::vector<Bytes> plains;
};

// Three blobs: a raw data chunk, a compressed data chunk and a raw tree.
Built BuildPack(const crypto::Key& data_key) {
  Built b;
  b.plains = {testing::RandomBytes(1, 5000),
              testing::CompressibleBytes(2, 60000), ToBytes("a tree blob")};
  PackWriter writer(data_key);
  compress::Compressor compressor;
  const crypto::Key id_key = TestKey(0x33);
  for (size_t i = 0; i < b.plains.size(); ++i) {
    Bytes packed;
    compress::Codec codec = i == 1 ? compressor.Compress(b.plains[i], &packed)
                                   : compress::Codec::kNone;
    ByteView stored =
        codec == compress::Codec::kNone ? ByteView(b.plains[i]) : packed;
    writer.AddBlob(i == 2 ? BlobType::kTree : BlobType::kData,
                   IdOf(id_key, b.plains[i]), codec,
                   static_cast<uint32_t>(b.plains[i].size()), stored);
  }
  REQUIRE(writer.blob_count() == 3);
  b.pack = writer.Finish();
  return b;
}

Result<PackContents> Decode(const crypto::Key& key, ByteView pack) {
  auto tail_size = PackTailSize(pack.last(kPackFooterSize));
  if (!tail_size) return Err(tail_size.error());
  size_t n = std::min(*tail_size, pack.size());
  return DecodePackHeader(key,
                          pack.first(std::min(pack.size(), kPackPreambleSize)),
                          pack.last(n), pack.size());
}

TEST_CASE("pack written with three blobs decodes and opens each blob",
          "[unit][format]") {
  const crypto::Key key = TestKey(0x11);
  Built b = BuildPack(key);
  const Bytes& bytes = b.pack.bytes;
  CHECK(b.pack.entries[1].codec == compress::Codec::kZstd);
  CHECK(b.pack.entries[1].stored_len < b.plains[1].size());
  CHECK(b.pack.id == PackId(crypto::Sha256(bytes)));

  auto contents = Decode(key, bytes);
  REQUIRE(contents.has_value());
  CHECK(contents->salt == b.pack.salt);
  REQUIRE(contents->entries == b.pack.entries);
  const crypto::Key pack_key = PackKey(key, contents->salt);
  for (size_t i = 0; i < 3; ++i) {
    const PackEntry& e = contents->entries[i];
    auto plain =
        OpenBlob(pack_key, e, ByteView(bytes).subspan(e.offset, e.stored_len));
    REQUIRE(plain.has_value());
    CHECK(*plain == b.plains[i]);
    CHECK(e.id == IdOf(TestKey(0x33), *plain));
  }
}

TEST_CASE("pack reader rejects a truncated pack", "[unit][format]") {
  const crypto::Key key = TestKey(0x11);
  Built b = BuildPack(key);
  ByteView bytes = b.pack.bytes;
  // Cut in the footer, in the header and in the blobs: always kCorruption.
  for (size_t cut : {1, 4, 8, 30, 200, 5000}) {
    auto r = Decode(key, bytes.first(bytes.size() - cut));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kCorruption);
  }
  // A tail that claims more than the pack holds.
  auto tail = PackTailSize(bytes.last(kPackFooterSize));
  REQUIRE(tail.has_value());
  auto r = DecodePackHeader(key, bytes.first(kPackPreambleSize),
                            bytes.last(*tail), kPackPreambleSize + *tail - 1);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kCorruption);
}

TEST_CASE(
    "pack reader rejects a flipped byte in the header, preamble or footer",
    "[unit][format]") {
  const crypto::Key key = TestKey(0x11);
  Built b = BuildPack(key);
  auto tail = PackTailSize(ByteView(b.pack.bytes).last(kPackFooterSize));
  REQUIRE(tail.has_value());
  const size_t header_start = b.pack.bytes.size() - *tail;
  for (size_t pos : {size_t{0}, size_t{5}, size_t{20}, header_start,
                     header_start + 10, b.pack.bytes.size() - 9,
                     b.pack.bytes.size() - 8, b.pack.bytes.size() - 1}) {
    Bytes bad = b.pack.bytes;
    bad[pos] ^= 0x01;
    auto r = Decode(key, bad);
    INFO("flipped byte " << pos);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kCorruption);
  }
}

TEST_CASE("pack blob with a flipped byte or under another id fails to open",
          "[unit][format]") {
  const crypto::Key key = TestKey(0x11);
  Built b = BuildPack(key);
  const crypto::Key pack_key = PackKey(key, b.pack.salt);
  PackEntry e = b.pack.entries[1];
  Bytes sealed(b.pack.bytes.begin() + e.offset,
               b.pack.bytes.begin() + e.offset + e.stored_len);
  sealed[3] ^= 0x10;
  auto flipped = OpenBlob(pack_key, e, sealed);
  REQUIRE_FALSE(flipped.has_value());
  CHECK(flipped.error().code() == ErrorCode::kCorruption);

  sealed[3] ^= 0x10;
  PackEntry moved = e;
  moved.id = b.pack.entries[0].id;
  auto r = OpenBlob(pack_key, moved, sealed);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kCorruption);
  auto short_read =
      OpenBlob(pack_key, e, ByteView(sealed).first(sealed.size() - 1));
  REQUIRE_FALSE(short_read.has_value());
  CHECK(short_read.error().code() == ErrorCode::kCorruption);
}

TEST_CASE("pack header does not open under another data key",
          "[unit][format]") {
  Built b = BuildPack(TestKey(0x11));
  auto r = Decode(TestKey(0x12), b.pack.bytes);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kCorruption);
}

TEST_CASE("pack with a newer version is refused as unsupported",
          "[unit][format]") {
  const crypto::Key key = TestKey(0x11);
  Built b = BuildPack(key);
  Bytes newer = b.pack.bytes;
  newer[4] = kPackVersion + 1;
  auto r = Decode(key, newer);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kUnsupportedVersion);
}

TEST_CASE("pack tail size rejects a footer without its magic",
          "[unit][format]") {
  Bytes footer = {20, 0, 0, 0, 'C', 'F', 'P', 'X'};
  auto r = PackTailSize(footer);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kCorruption);
  footer[7] = 'E';
  REQUIRE(PackTailSize(footer).value() == 28);
  footer[0] = 15;  // shorter than a GCM tag
  CHECK_FALSE(PackTailSize(footer).has_value());
}

TEST_CASE("an empty pack round trips with no entries", "[unit][format]") {
  const crypto::Key key = TestKey(0x11);
  PackWriter writer(key);
  auto done = writer.Finish();
  auto r = Decode(key, done.bytes);
  REQUIRE(r.has_value());
  CHECK(r->entries.empty());
}

TEST_CASE("two packs of the same blobs get different salts and ids",
          "[unit][format]") {
  const crypto::Key key = TestKey(0x11);
  Built a = BuildPack(key), b = BuildPack(key);
  CHECK(a.pack.salt != b.pack.salt);
  CHECK(a.pack.id != b.pack.id);
}

// A pack with `blob_area` zero bytes after the preamble and a header whose
// plaintext is `header`, sealed correctly: what a hostile writer holding the
// key could produce. Only the decoder's own checks stand in the way.
Bytes CraftPack(const crypto::Key& key, size_t blob_area, const Bytes& header) {
  PackSalt salt;
  salt.fill(0x5a);
  Writer pack;
  pack.Raw(AsBytes("CFPK"));
  pack.U8(kPackVersion);
  pack.Raw(Bytes(3, 0));
  pack.Raw(salt);
  const Bytes preamble = pack.bytes();
  pack.Raw(Bytes(blob_area, 0));
  Bytes sealed =
      crypto::Aead(PackKey(key, salt)).Seal(~uint64_t{0}, header, preamble);
  pack.Raw(sealed);
  pack.U32(static_cast<uint32_t>(sealed.size()));
  pack.Raw(AsBytes("CFPE"));
  return pack.Take();
}

void AddEntry(Writer* w, uint8_t type, uint8_t codec, uint64_t offset,
              uint64_t stored_len, uint64_t raw_len) {
  w->Raw(Bytes(32, 0xab));
  w->U8(type);
  w->U8(codec);
  w->Varint(offset);
  w->Varint(stored_len);
  w->Varint(raw_len);
}

TEST_CASE("pack reader accepts a well-formed crafted header",
          "[unit][format]") {
  // Guards the hostile cases below: they fail for their own reason only.
  const crypto::Key key = TestKey(0x11);
  Writer h;
  h.Varint(2);
  AddEntry(&h, 1, 0, 40, 50, 34);
  AddEntry(&h, 2, 1, 90, 60, 1000);
  auto r = Decode(key, CraftPack(key, 110, h.bytes()));
  REQUIRE(r.has_value());
  REQUIRE(r->entries.size() == 2);
  CHECK(r->entries[1].offset == 90);
  CHECK(r->entries[1].raw_len == 1000);
}

TEST_CASE("pack reader rejects hostile header entries", "[unit][format]") {
  const crypto::Key key = TestKey(0x11);
  Writer h;
  SECTION("overlapping entries") {
    h.Varint(2);
    AddEntry(&h, 1, 1, 40, 50, 10);
    AddEntry(&h, 1, 1, 89, 20, 10);
  }
  SECTION("an entry inside the preamble") {
    h.Varint(1);
    AddEntry(&h, 1, 1, 39, 20, 10);
  }
  SECTION("an entry running into the header") {
    h.Varint(1);
    AddEntry(&h, 1, 1, 100, 51, 10);
  }
  SECTION("an entry whose end overflows 64 bits") {
    h.Varint(1);
    AddEntry(&h, 1, 1, ~uint64_t{0} - 5, 20, 10);
  }
  SECTION("an unknown blob type") {
    h.Varint(1);
    AddEntry(&h, 3, 1, 40, 20, 10);
  }
  SECTION("an unknown codec") {
    h.Varint(1);
    AddEntry(&h, 1, 2, 40, 20, 10);
  }
  SECTION("a raw entry whose lengths disagree") {
    h.Varint(1);
    AddEntry(&h, 1, 0, 40, 20, 10);
  }
  SECTION("a count larger than the header could hold") {
    h.Varint(uint64_t{1} << 40);
    AddEntry(&h, 1, 1, 40, 20, 10);
  }
  SECTION("trailing bytes after the entries") {
    h.Varint(1);
    AddEntry(&h, 1, 1, 40, 20, 10);
    h.U8(0);
  }
  auto r = Decode(key, CraftPack(key, 110, h.bytes()));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kCorruption);
}

}  // namespace
}  // namespace coffre::format
