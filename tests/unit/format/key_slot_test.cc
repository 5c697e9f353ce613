#include "core/format/key_slot.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "core/base/encoding.h"

namespace coffre::format {
namespace {

// Small cost so the suite stays fast; the format is the same at any cost.
const crypto::ScryptParams kFast{1024, 8, 1};

KeySlotInfo TestInfo() {
  KeySlotInfo info;
  info.created_ns = -5;  // signed on purpose: exercises the zig-zag field
  info.host = "srv-01";
  info.user = "root";
  info.label = "agent srv-01";
  return info;
}

// Offset of the label's length byte: magic, version, kdf, log2N, r, p, salt,
// created, host, user (all short fields in TestInfo).
size_t LabelOffset() { return 4 + 1 + 1 + 1 + 1 + 1 + 32 + 1 + 1 + 6 + 1 + 4; }

TEST_CASE("key slot opens with the right passphrase and gives the same keys",
          "[unit][format]") {
  MasterKeys keys = MasterKeys::Generate();
  Bytes slot = EncodeKeySlot(keys, AsBytes("correct horse"), TestInfo(), kFast);
  CHECK(slot.size() == LabelOffset() + 1 + 12 + 96 + 16);
  auto opened = OpenKeySlot(slot, AsBytes("correct horse"));
  REQUIRE(opened.has_value());
  CHECK(opened->data_key == keys.data_key);
  CHECK(opened->id_key == keys.id_key);
  CHECK(opened->chunker_key == keys.chunker_key);
  CHECK(keys.data_key != keys.id_key);

  auto info = DecodeKeySlotInfo(slot);
  REQUIRE(info.has_value());
  CHECK(info->created_ns == -5);
  CHECK(info->host == "srv-01");
  CHECK(info->user == "root");
  CHECK(info->label == "agent srv-01");
}

TEST_CASE("key slot refuses a wrong passphrase as auth failed",
          "[unit][format]") {
  Bytes slot = EncodeKeySlot(MasterKeys::Generate(), AsBytes("correct horse"),
                             TestInfo(), kFast);
  auto r = OpenKeySlot(slot, AsBytes("correct horsE"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kAuthFailed);
  CHECK(r.error().message() == "wrong passphrase");
}

TEST_CASE("key slot with a tampered clear field does not open",
          "[unit][format]") {
  Bytes slot =
      EncodeKeySlot(MasterKeys::Generate(), AsBytes("pw"), TestInfo(), kFast);
  Bytes bad = slot;
  bad[LabelOffset() + 1] ^= 0x20;  // "agent" -> "Agent"
  REQUIRE(DecodeKeySlotInfo(bad).value().label == "Agent srv-01");
  auto r = OpenKeySlot(bad, AsBytes("pw"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kAuthFailed);
  // Salt and wrapped keys are covered too.
  for (size_t pos : {size_t{10}, slot.size() - 50, slot.size() - 1}) {
    Bytes flipped = slot;
    flipped[pos] ^= 0x01;
    CHECK_FALSE(OpenKeySlot(flipped, AsBytes("pw")).has_value());
  }
}

TEST_CASE("key slot rejects a newer version, a bad magic and a wrong length",
          "[unit][format]") {
  Bytes slot =
      EncodeKeySlot(MasterKeys::Generate(), AsBytes("pw"), TestInfo(), kFast);
  Bytes newer = slot;
  newer[4] = kKeySlotVersion + 1;
  auto r = OpenKeySlot(newer, AsBytes("pw"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kUnsupportedVersion);
  CHECK(DecodeKeySlotInfo(newer).error().code() ==
        ErrorCode::kUnsupportedVersion);

  Bytes magic = slot;
  magic[0] = 'X';
  CHECK(OpenKeySlot(magic, AsBytes("pw")).error().code() ==
        ErrorCode::kCorruption);
  Bytes longer = slot;
  longer.push_back(0);
  CHECK(OpenKeySlot(longer, AsBytes("pw")).error().code() ==
        ErrorCode::kCorruption);
  CHECK(OpenKeySlot(ByteView(slot).first(slot.size() - 1), AsBytes("pw"))
            .error()
            .code() == ErrorCode::kCorruption);
  CHECK(OpenKeySlot(ByteView(slot).first(20), AsBytes("pw")).error().code() ==
        ErrorCode::kCorruption);
}

TEST_CASE(
    "key slot with hostile scrypt costs is refused without running scrypt",
    "[unit][format]") {
  Bytes slot =
      EncodeKeySlot(MasterKeys::Generate(), AsBytes("pw"), TestInfo(), kFast);
  REQUIRE(slot[6] == 10);  // log2 N
  REQUIRE(slot[7] == 8);   // r
  REQUIRE(slot[8] == 1);   // p
  auto refused = [&](size_t pos, uint8_t value) {
    Bytes bad = slot;
    bad[pos] = value;
    auto start = std::chrono::steady_clock::now();
    auto r = OpenKeySlot(bad, AsBytes("pw"));
    auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code() == ErrorCode::kCorruption);
    CHECK(elapsed < std::chrono::seconds(1));
  };
  refused(6, 23);  // N = 2^23
  refused(6, 63);  // N = 2^63
  refused(6, 0);   // N = 1
  refused(7, 33);  // r = 33
  refused(7, 0);   // r = 0
  refused(8, 17);  // p = 17
  refused(8, 0);   // p = 0
  refused(5, 2);   // unknown KDF
  // Within each bound but 16 GiB together (N = 2^22, r = 32).
  Bytes both = slot;
  both[6] = 22;
  both[7] = 32;
  auto r = OpenKeySlot(both, AsBytes("pw"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == ErrorCode::kCorruption);
}

TEST_CASE("two slots for the same keys and passphrase differ by their salt",
          "[unit][format]") {
  MasterKeys keys = MasterKeys::Generate();
  Bytes a = EncodeKeySlot(keys, AsBytes("pw"), TestInfo(), kFast);
  Bytes b = EncodeKeySlot(keys, AsBytes("pw"), TestInfo(), kFast);
  CHECK(a != b);
  CHECK(OpenKeySlot(b, AsBytes("pw")).value().data_key == keys.data_key);
}

}  // namespace
}  // namespace coffre::format
