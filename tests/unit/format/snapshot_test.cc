#include "core/format/snapshot.h"

#include <catch2/catch.hpp>

namespace coffre::format {
namespace {

template <typename IdType>
IdType IdOf(uint8_t fill) {
  std::array<uint8_t, 32> b;
  b.fill(fill);
  return IdType(b);
}

Snapshot FullSnapshot() {
  Snapshot s;
  s.time_ns = 1700000000123456789;
  s.host = "srv-compta";
  s.user = "root";
  s.paths = {"/etc", "/home/équipe", "/srv/data\nwith newline"};
  s.tags = {"daily", "pre-upgrade"};
  s.root = IdOf<BlobId>(0xab);
  s.parent = IdOf<ObjectId>(0xcd);
  s.stats = {1200, 80, 5ULL << 30, 123456789, 65432, 2};
  s.program_version = "coffre 0.1.0";
  return s;
}

ErrorCode DecodeCode(const Bytes& data) {
  auto s = DecodeSnapshot(data);
  return s ? ErrorCode::kOk : s.error().code();
}

TEST_CASE("snapshot round-trips every field", "[unit][format][snapshot]") {
  Snapshot s = FullSnapshot();
  auto decoded = DecodeSnapshot(EncodeSnapshot(s));
  REQUIRE(decoded);
  CHECK(*decoded == s);

  Snapshot first;  // no parent, no tags, time before 1970
  first.time_ns = -5;
  first.paths = {"/"};
  decoded = DecodeSnapshot(EncodeSnapshot(first));
  REQUIRE(decoded);
  CHECK(*decoded == first);
  CHECK(!decoded->parent);
}

TEST_CASE("snapshot encoding of a minimal snapshot matches the pinned bytes",
          "[unit][format][snapshot]") {
  Snapshot s;
  s.time_ns = 2;
  s.host = "h";
  s.paths = {"/"};
  s.root = IdOf<BlobId>(0x33);
  s.stats.files = 1;
  s.program_version = "v";
  // clang-format off
  const std::string kHex = std::string() +
      "4346534e01" +      // "CFSN", version 1
      "04" +              // time 2 (zig-zag)
      "0168" + "00" +     // host "h", user ""
      "01012f" + "00" +   // paths ["/"], no tags
      std::string(64, '3') +  // root
      "00" +              // no parent
      "010000000000" +    // files 1, dirs, bytes, new bytes, duration, errors
      "0176";             // program version "v"
  // clang-format on
  CHECK(HexEncode(EncodeSnapshot(s)) == kHex);
}

TEST_CASE("snapshot decoding rejects truncation and trailing bytes",
          "[unit][format][snapshot]") {
  Bytes good = EncodeSnapshot(FullSnapshot());
  for (size_t n = 0; n < good.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK(DecodeCode(Bytes(good.begin(), good.begin() + n)) ==
          ErrorCode::kCorruption);
  }
  Bytes trailing = good;
  trailing.push_back(0);
  CHECK(DecodeCode(trailing) == ErrorCode::kCorruption);
}

TEST_CASE(
    "snapshot decoding rejects a foreign magic, a bad flag and a newer version",
    "[unit][format][snapshot]") {
  Snapshot s;
  s.root = IdOf<BlobId>(1);
  Bytes good = EncodeSnapshot(s);
  REQUIRE(DecodeCode(good) == ErrorCode::kOk);
  Bytes tree_magic = good;
  tree_magic[2] = 'T';
  tree_magic[3] = 'R';
  CHECK(DecodeCode(tree_magic) == ErrorCode::kCorruption);
  // Layout: magic, version, time, host, user, paths, tags, root, flag.
  Bytes flag = good;
  flag[4 + 1 + 1 + 1 + 1 + 1 + 1 + 32] = 2;
  CHECK(DecodeCode(flag) == ErrorCode::kCorruption);
  Bytes newer = good;
  newer[4] = 2;
  auto r = DecodeSnapshot(newer);
  REQUIRE(!r);
  CHECK(r.error().code() == ErrorCode::kUnsupportedVersion);
  CHECK_THAT(r.error().message(), Catch::Contains("2") && Catch::Contains("1"));
}

}  // namespace
}  // namespace coffre::format
