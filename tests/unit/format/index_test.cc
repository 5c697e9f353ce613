#include "core/format/index.h"

#include <catch2/catch.hpp>

#include "core/base/encoding.h"
#include "core/format/sealed_object.h"

namespace coffre::format {
namespace {

template <typename IdT>
IdT MakeId(uint8_t fill) {
  std::array<uint8_t, 32> bytes;
  bytes.fill(fill);
  return IdT(bytes);
}

IndexFile SampleIndex() {
  IndexFile index;
  for (uint8_t p = 1; p <= 3; ++p) {
    IndexedPack pack;
    pack.id = MakeId<PackId>(p);
    pack.salt.fill(static_cast<uint8_t>(0x80 + p));
    pack.size = 10'000'000 + p;
    uint64_t offset = kPackPreambleSize;
    for (uint8_t i = 0; i < 4 * p; ++i) {
      PackEntry e;
      e.id = MakeId<BlobId>(static_cast<uint8_t>(p * 16 + i));
      e.type = i == 0 ? BlobType::kTree : BlobType::kData;
      e.codec = i % 2 ? compress::Codec::kZstd : compress::Codec::kNone;
      e.offset = offset;
      e.stored_len = 1000u + 300u * i;
      e.raw_len =
          e.codec == compress::Codec::kNone ? e.stored_len - 16 : 4'000'000;
      offset += e.stored_len;
      pack.entries.push_back(e);
    }
    index.packs.push_back(pack);
  }
  index.supersedes = {MakeId<ObjectId>(0xee), MakeId<ObjectId>(0xef)};
  return index;
}

void RequireEqual(const IndexFile& a, const IndexFile& b) {
  REQUIRE(a.packs.size() == b.packs.size());
  for (size_t i = 0; i < a.packs.size(); ++i) {
    CHECK(a.packs[i].id == b.packs[i].id);
    CHECK(a.packs[i].salt == b.packs[i].salt);
    CHECK(a.packs[i].size == b.packs[i].size);
    CHECK(a.packs[i].entries == b.packs[i].entries);
  }
  CHECK(a.supersedes == b.supersedes);
}

TEST_CASE("index round trips packs, entries and superseded ids",
          "[unit][format]") {
  const IndexFile index = SampleIndex();
  auto decoded = DecodeIndex(EncodeIndex(index));
  REQUIRE(decoded.has_value());
  RequireEqual(*decoded, index);

  auto empty = DecodeIndex(EncodeIndex(IndexFile{}));
  REQUIRE(empty.has_value());
  CHECK(empty->packs.empty());
  CHECK(empty->supersedes.empty());
}

TEST_CASE("index round trips through a sealed object", "[unit][format]") {
  crypto::Key key;
  key.fill(9);
  Bytes sealed =
      SealObject(key, "CFIX", kIndexVersion, EncodeIndex(SampleIndex()));
  auto opened = OpenObject(key, "CFIX", kIndexVersion, sealed);
  REQUIRE(opened.has_value());
  auto decoded = DecodeIndex(opened->plaintext);
  REQUIRE(decoded.has_value());
  RequireEqual(*decoded, SampleIndex());
}

TEST_CASE("index decoder rejects every truncation and trailing bytes",
          "[unit][format]") {
  const Bytes encoded = EncodeIndex(SampleIndex());
  for (size_t len = 0; len < encoded.size(); ++len) {
    auto r = DecodeIndex(ByteView(encoded).first(len));
    INFO("length " << len);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kCorruption);
  }
  Bytes longer = encoded;
  longer.push_back(0);
  CHECK(DecodeIndex(longer).error().code() == ErrorCode::kCorruption);
}

TEST_CASE("index decoder refuses hostile counts without allocating",
          "[unit][format]") {
  // Under the sanitizer build a 2^60-element reserve would abort; the count
  // guard must fire first.
  Writer packs;
  packs.Varint(uint64_t{1} << 60);
  packs.Raw(Bytes(100, 0));
  CHECK(DecodeIndex(packs.bytes()).error().code() == ErrorCode::kCorruption);

  Writer entries;
  entries.Varint(1);
  entries.Raw(Bytes(64, 1));
  entries.Varint(1 << 20);            // pack size
  entries.Varint(uint64_t{1} << 58);  // entry count
  entries.Raw(Bytes(100, 0));
  CHECK(DecodeIndex(entries.bytes()).error().code() == ErrorCode::kCorruption);

  Writer superseded;
  superseded.Varint(0);
  superseded.Varint(~uint64_t{0} >> 1);
  superseded.Raw(Bytes(31, 0));
  CHECK(DecodeIndex(superseded.bytes()).error().code() ==
        ErrorCode::kCorruption);
}

TEST_CASE("index decoder rejects entries that cannot lie in their pack",
          "[unit][format]") {
  IndexFile index = SampleIndex();
  SECTION("offset inside the preamble") {
    index.packs[0].entries[0].offset = 39;
  }
  SECTION("blob running past the pack") {
    index.packs[0].entries[0].offset = index.packs[0].size - 30;
  }
  SECTION("pack too small to be a pack") {
    index.packs[0].size = 63;
    index.packs[0].entries.clear();
  }
  SECTION("unknown codec") {
    index.packs[1].entries[2].codec = static_cast<compress::Codec>(7);
  }
  SECTION("unknown type") {
    index.packs[2].entries[3].type = static_cast<BlobType>(0);
  }
  SECTION("raw entry with inconsistent lengths") {
    index.packs[0].entries[0].raw_len += 1;
  }
  auto r = DecodeIndex(EncodeIndex(index));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kCorruption);
}

}  // namespace
}  // namespace coffre::format
