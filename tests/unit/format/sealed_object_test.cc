#include "core/format/sealed_object.h"

#include <catch2/catch.hpp>

#include "tests/support/random_data.h"

namespace coffre::format {
namespace {

crypto::Key TestKey(uint8_t fill) {
  crypto::Key key;
  key.fill(fill);
  return key;
}

TEST_CASE("sealed object round trips and carries its version",
          "[unit][format]") {
  const crypto::Key key = TestKey(7);
  const Bytes plain = testing::RandomBytes(1, 1000);
  Bytes sealed = SealObject(key, "CFIX", 1, plain);
  REQUIRE(sealed.size() == 37 + plain.size() + 16);
  CHECK(AsChars(ByteView(sealed).first(4)) == "CFIX");
  CHECK(sealed[4] == 1);
  auto opened = OpenObject(key, "CFIX", 1, sealed);
  REQUIRE(opened.has_value());
  CHECK(opened->version == 1);
  CHECK(opened->plaintext == plain);
}

TEST_CASE("sealing the same plaintext twice gives different bytes",
          "[unit][format]") {
  const crypto::Key key = TestKey(7);
  // A fresh salt per object: equal snapshots must not be linkable.
  CHECK(SealObject(key, "CFSN", 1, AsBytes("same")) !=
        SealObject(key, "CFSN", 1, AsBytes("same")));
}

TEST_CASE("sealed object rejects tampering, the wrong key and the wrong magic",
          "[unit][format]") {
  const crypto::Key key = TestKey(7);
  const Bytes sealed = SealObject(key, "CFSN", 1, AsBytes("snapshot bytes"));

  auto expect = [&](ByteView data, const crypto::Key& k, std::string_view magic,
                    ErrorCode code) {
    auto r = OpenObject(k, magic, 1, data);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == code);
  };
  for (size_t i = 5; i < sealed.size(); ++i) {  // salt, ciphertext, tag
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    expect(bad, key, "CFSN", ErrorCode::kCorruption);
  }
  expect(sealed, TestKey(8), "CFSN", ErrorCode::kCorruption);
  expect(sealed, key, "CFIX", ErrorCode::kCorruption);
  expect(ByteView(sealed).first(sealed.size() - 1), key, "CFSN",
         ErrorCode::kCorruption);
  expect(ByteView(sealed).first(36), key, "CFSN", ErrorCode::kCorruption);
  // Renaming an index into a snapshot fails even with the magic rewritten.
  Bytes renamed = sealed;
  std::copy_n("CFIX", 4, renamed.begin());
  expect(renamed, key, "CFIX", ErrorCode::kCorruption);
}

TEST_CASE("sealed object with a newer version is refused before decrypting",
          "[unit][format]") {
  const crypto::Key key = TestKey(7);
  Bytes sealed = SealObject(key, "CFSN", 2, AsBytes("from the future"));
  auto r = OpenObject(key, "CFSN", 1, sealed);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kUnsupportedVersion);
  // A downgraded version byte is caught by the tag (it is associated data).
  sealed[4] = 1;
  auto downgraded = OpenObject(key, "CFSN", 1, sealed);
  REQUIRE_FALSE(downgraded.has_value());
  CHECK(downgraded.error().code() == ErrorCode::kCorruption);
}

}  // namespace
}  // namespace coffre::format
