#include "core/crypto/hash.h"

#include <catch2/catch.hpp>
#include <string>

namespace coffre::crypto {
namespace {

std::string Hex(const Digest& d) { return HexEncode(d); }

TEST_CASE("sha256 matches the FIPS 180-2 known answers", "[unit][crypto]") {
  CHECK(Hex(Sha256(AsBytes(""))) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Hex(Sha256(AsBytes("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Hex(Sha256(AsBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha256 stream over a million a's in uneven pieces matches the FIPS answer",
          "[unit][crypto]") {
  const std::string million(1000000, 'a');
  Sha256Stream stream;
  size_t pos = 0, piece = 1;
  while (pos < million.size()) {
    size_t n = std::min(piece, million.size() - pos);
    stream.Update(AsBytes(std::string_view(million).substr(pos, n)));
    pos += n;
    piece = piece * 3 + 1;
  }
  const std::string want =
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  CHECK(Hex(stream.Finish()) == want);
  CHECK(Hex(Sha256(AsBytes(million))) == want);
}

TEST_CASE("sha256 stream is reset by finish and can be reused", "[unit][crypto]") {
  Sha256Stream stream;
  stream.Update(AsBytes("garbage that must not leak into the next digest"));
  (void)stream.Finish();
  stream.Update(AsBytes("ab"));
  stream.Update(AsBytes("c"));
  CHECK(Hex(stream.Finish()) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("hmac-sha256 matches RFC 4231 test cases 1, 2 and 6", "[unit][crypto]") {
  HmacSha256 case1(Bytes(20, 0x0b));
  CHECK(Hex(case1.Compute(AsBytes("Hi There"))) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  HmacSha256 case2(AsBytes("Jefe"));
  CHECK(Hex(case2.Compute(AsBytes("what do ya want for nothing?"))) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Case 6: a key longer than the block size is hashed first.
  HmacSha256 case6(Bytes(131, 0xaa));
  CHECK(Hex(case6.Compute(
            AsBytes("Test Using Larger Than Block-Size Key - Hash Key First"))) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("hmac-sha256 gives the same answer on every reuse of its context",
          "[unit][crypto]") {
  HmacSha256 mac(Bytes(20, 0x0b));
  const std::string want =
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
  for (int i = 0; i < 3; ++i) {
    CHECK(Hex(mac.Compute(AsBytes("Hi There"))) == want);
    // A different message in between must not leave state behind.
    CHECK(Hex(mac.Compute(AsBytes("Hi there"))) != want);
  }
}

TEST_CASE("ConstantTimeEqual compares contents and lengths", "[unit][crypto]") {
  const Bytes a = ToBytes("secret-hash-value");
  CHECK(ConstantTimeEqual(a, ToBytes("secret-hash-value")));
  CHECK_FALSE(ConstantTimeEqual(a, ToBytes("secret-hash-valuf")));
  CHECK_FALSE(ConstantTimeEqual(a, ToBytes("Secret-hash-value")));
  CHECK_FALSE(ConstantTimeEqual(a, ToBytes("secret-hash-valu")));
  CHECK(ConstantTimeEqual(ByteView(), ByteView()));
}

}  // namespace
}  // namespace coffre::crypto
