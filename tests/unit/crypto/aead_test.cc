#include "core/crypto/aead.h"

#include <catch2/catch.hpp>

#include "tests/support/random_data.h"

namespace coffre::crypto {
namespace {

Key TestKey(uint8_t seed) {
  Key key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed + i);
  return key;
}

TEST_CASE("aead round trips plaintext of several sizes", "[unit][crypto]") {
  Aead aead(TestKey(1));
  for (size_t size : {0, 1, 15, 16, 17, 4096, 1 << 20}) {
    Bytes plain = testing::RandomBytes(size, size);
    Bytes sealed = aead.Seal(7, plain, AsBytes("aad"));
    REQUIRE(sealed.size() == size + Aead::kTagSize);
    auto opened = aead.Open(7, sealed, AsBytes("aad"));
    REQUIRE(opened.has_value());
    CHECK(*opened == plain);
  }
}

TEST_CASE("aead seal append keeps what was in the buffer", "[unit][crypto]") {
  Aead aead(TestKey(2));
  Bytes out = ToBytes("prefix");
  aead.SealAppend(1, AsBytes("hello"), {}, &out);
  REQUIRE(out.size() == 6 + 5 + Aead::kTagSize);
  CHECK(std::string(out.begin(), out.begin() + 6) == "prefix");
  auto opened = aead.Open(1, ByteView(out).subspan(6), {});
  REQUIRE(opened.has_value());
  CHECK(AsChars(*opened) == "hello");
}

TEST_CASE("aead rejects any flipped bit as corruption", "[unit][crypto]") {
  Aead aead(TestKey(3));
  const Bytes plain = testing::RandomBytes(42, 100);
  const Bytes aad = ToBytes("associated");
  const Bytes sealed = aead.Seal(99, plain, aad);

  SECTION("in the ciphertext") {
    Bytes bad = sealed;
    bad[10] ^= 0x01;
    auto r = aead.Open(99, bad, aad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kCorruption);
  }
  SECTION("in the tag") {
    Bytes bad = sealed;
    bad.back() ^= 0x80;
    auto r = aead.Open(99, bad, aad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kCorruption);
  }
  SECTION("in the associated data") {
    Bytes bad_aad = aad;
    bad_aad[0] ^= 0x04;
    auto r = aead.Open(99, sealed, bad_aad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kCorruption);
  }
  SECTION("in the nonce") {
    auto r = aead.Open(99 ^ (uint64_t{1} << 40), sealed, aad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kCorruption);
  }
  SECTION("under another key") {
    auto r = Aead(TestKey(4)).Open(99, sealed, aad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kCorruption);
  }
  SECTION("or shorter than a tag") {
    auto r = aead.Open(99, ByteView(sealed).first(Aead::kTagSize - 1), aad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kCorruption);
  }
}

TEST_CASE("aead matches the GCM spec test case 14 (256-bit zero key, nonce 0)",
          "[unit][crypto]") {
  // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 14.
  Key key{};
  Bytes sealed = Aead(key).Seal(0, Bytes(16, 0), {});
  CHECK(HexEncode(sealed) ==
        "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
}

TEST_CASE("aead nonce is the counter little-endian followed by four zero bytes",
          "[unit][crypto]") {
  // Reference value from an independent AES-GCM (Python cryptography) with
  // the nonce written out by hand: 02 01 00 00 00 00 00 00 00 00 00 00.
  Key key{};
  Bytes sealed = Aead(key).Seal(0x0102, AsBytes("coffre"), AsBytes("aad"));
  CHECK(HexEncode(sealed) == "ed4547a77bce0eeac52f69945bc65eac044dabe5ddf0");
}

TEST_CASE("hkdf matches RFC 5869 test case 1", "[unit][crypto]") {
  Bytes ikm(22, 0x0b);
  Bytes salt;
  for (uint8_t i = 0; i <= 0x0c; ++i) salt.push_back(i);
  Bytes info;
  for (uint8_t i = 0xf0; i <= 0xf9; ++i) info.push_back(i);
  // The first 32 of the RFC's 42 output bytes (T(1) does not depend on L).
  CHECK(HexEncode(Hkdf(ikm, salt, info)) ==
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
}

TEST_CASE("scrypt matches the RFC 7914 vector with N=16", "[unit][crypto]") {
  auto key = Scrypt({}, {}, ScryptParams{16, 1, 1});
  REQUIRE(key.has_value());
  // First 32 of the RFC's 64 bytes (PBKDF2 blocks are independent).
  CHECK(HexEncode(*key) ==
        "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442");
}

TEST_CASE("scrypt refuses N that is not a power of two or needs over 1 GiB",
          "[unit][crypto]") {
  auto not_pow2 = Scrypt(AsBytes("pw"), AsBytes("salt"), ScryptParams{1000, 8, 1});
  REQUIRE_FALSE(not_pow2.has_value());
  CHECK(not_pow2.error().code() == ErrorCode::kInvalidArgument);
  // 2^21 * 128 * 8 = 2 GiB: refused before anything is allocated.
  auto huge = Scrypt(AsBytes("pw"), AsBytes("salt"), ScryptParams{1 << 21, 8, 1});
  REQUIRE_FALSE(huge.has_value());
  CHECK(huge.error().code() == ErrorCode::kInvalidArgument);
  auto zero_r = Scrypt(AsBytes("pw"), AsBytes("salt"), ScryptParams{16, 0, 1});
  REQUIRE_FALSE(zero_r.has_value());
}

}  // namespace
}  // namespace coffre::crypto
