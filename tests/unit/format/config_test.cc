#include "core/format/config.h"

#include <catch2/catch.hpp>

namespace coffre::format {
namespace {

crypto::Key TestKey(uint8_t first) {
  crypto::Key key;
  for (size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<uint8_t>(first + i);
  return key;
}

Config TestConfig() {
  Config c;
  for (size_t i = 0; i < c.repo_id.size(); ++i)
    c.repo_id[i] = static_cast<uint8_t>(i);
  c.created_ns = 1700000000000000000;
  return c;  // default chunker 256 KiB / 1 MiB / 4 MiB, level 3
}

TEST_CASE("config round-trips and verifies under its id key",
          "[unit][format][config]") {
  Config c = TestConfig();
  c.chunker = {8192, 32768, 131072};
  c.compression_level = 19;
  Bytes bytes = EncodeConfig(c, TestKey(1));
  auto decoded = DecodeConfig(bytes);
  REQUIRE(decoded);
  CHECK(decoded->version == kRepositoryVersion);
  CHECK(decoded->repo_id == c.repo_id);
  CHECK(decoded->created_ns == c.created_ns);
  CHECK(decoded->chunker.min_size == 8192);
  CHECK(decoded->chunker.avg_size == 32768);
  CHECK(decoded->chunker.max_size == 131072);
  CHECK(decoded->compression_level == 19);
  CHECK(VerifyConfig(bytes, TestKey(1)).ok());
  CHECK(VerifyConfig(bytes, TestKey(2)).code() == ErrorCode::kCorruption);
}

TEST_CASE("config encoding matches the pinned bytes and HMAC",
          "[unit][format][config]") {
  // The HMACs were computed independently with Python's hmac module.
  const std::string kHexV2 =
      "4346434602"                        // "CFCF", version 2
      "000102030405060708090a0b0c0d0e0f"  // repo id
      "8080d0e2c6bfce972f"                // created (zig-zag varint)
      "80801080804080808002"              // 262144, 1048576, 4194304
      "03"                                // compression level
      "6dfdb4905aa24fd12c6c935a20c3323b2e664457a69c048b2e048e2ac3516de5";
  CHECK(HexEncode(EncodeConfig(TestConfig(), TestKey(1))) == kHexV2);
  // Version 1, as docs/format/config.md shows it: the same but byte 4.
  const std::string kHexV1 =
      "4346434601"
      "000102030405060708090a0b0c0d0e0f"
      "8080d0e2c6bfce972f"
      "80801080804080808002"
      "03"
      "6b763e2089c53418889f3e429fc35185f275ceaef0c1dc914576462ebeba24df";
  Config v1 = TestConfig();
  v1.version = 1;
  CHECK(HexEncode(EncodeConfig(v1, TestKey(1))) == kHexV1);
}

TEST_CASE("config verification fails on any tampered byte",
          "[unit][format][config]") {
  Bytes good = EncodeConfig(TestConfig(), TestKey(1));
  for (size_t i = 0; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x04;
    INFO("byte " << i);
    CHECK(VerifyConfig(bad, TestKey(1)).code() == ErrorCode::kCorruption);
  }
  CHECK(VerifyConfig(ByteView(good).first(31), TestKey(1)).code() ==
        ErrorCode::kCorruption);
}

TEST_CASE("config from a newer coffre is refused with both versions named",
          "[unit][format][config]") {
  Config c = TestConfig();
  c.version = kRepositoryVersion + 1;
  Bytes bytes = EncodeConfig(c, TestKey(1));
  // Whatever follows the version is not parsed: a newer layout may differ.
  bytes.resize(6);
  auto r = DecodeConfig(bytes);
  REQUIRE(!r);
  CHECK(r.error().code() == ErrorCode::kUnsupportedVersion);
  CHECK(
      r.error().message() ==
      "repository format version 3 is newer than this coffre (reads up to 2); "
      "upgrade coffre");
}

TEST_CASE("a version-1 config still decodes and keeps its version", "[unit][format][config]") {
  Config c = TestConfig();
  c.version = 1;
  auto back = DecodeConfig(EncodeConfig(c, TestKey(1)));
  REQUIRE(back);
  CHECK(back->version == 1);
}

TEST_CASE("config decoding rejects malformed input", "[unit][format][config]") {
  auto code = [](const Bytes& data) {
    auto r = DecodeConfig(data);
    return r ? ErrorCode::kOk : r.error().code();
  };
  Bytes good = EncodeConfig(TestConfig(), TestKey(1));
  REQUIRE(code(good) == ErrorCode::kOk);
  for (size_t n = 0; n < good.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK(code(Bytes(good.begin(), good.begin() + n)) ==
          ErrorCode::kCorruption);
  }
  Bytes trailing = good;
  trailing.push_back(0);
  CHECK(code(trailing) == ErrorCode::kCorruption);
  Bytes magic = good;
  magic[3] = 'X';
  CHECK(code(magic) == ErrorCode::kCorruption);
  Bytes zero_version = good;
  zero_version[4] = 0;
  CHECK(code(zero_version) == ErrorCode::kCorruption);

  Config bad_chunker = TestConfig();
  bad_chunker.chunker.avg_size = 1000000;  // not a power of two
  CHECK(code(EncodeConfig(bad_chunker, TestKey(1))) == ErrorCode::kCorruption);
  Config bad_level = TestConfig();
  bad_level.compression_level = 0;
  CHECK(code(EncodeConfig(bad_level, TestKey(1))) == ErrorCode::kCorruption);
}

}  // namespace
}  // namespace coffre::format
