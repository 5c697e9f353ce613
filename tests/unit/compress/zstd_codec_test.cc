#include "core/compress/zstd_codec.h"

#include <catch2/catch.hpp>

#include "tests/support/random_data.h"

namespace coffre::compress {
namespace {

TEST_CASE("zstd codec round-trips compressible data", "[unit][compress]") {
  Compressor compressor(3);
  // One compressor, several blobs: the reused context must not leak state
  // from one frame into the next.
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    Bytes data = testing::CompressibleBytes(seed, (256 << 10) * seed);
    Bytes packed;
    REQUIRE(compressor.Compress(data, &packed) == Codec::kZstd);
    CHECK(packed.size() < data.size() / 2);
    auto plain = Decompress(Codec::kZstd, packed, data.size());
    REQUIRE(plain);
    CHECK(*plain == data);
  }
}

TEST_CASE("zstd codec keeps random data raw", "[unit][compress]") {
  Compressor compressor;
  Bytes data = testing::RandomBytes(9, 1 << 20);
  Bytes packed = {1, 2, 3};  // must be cleared
  CHECK(compressor.Compress(data, &packed) == Codec::kNone);
  CHECK(packed.empty());
  auto plain = Decompress(Codec::kNone, data, data.size());
  REQUIRE(plain);
  CHECK(*plain == data);
}

TEST_CASE("zstd codec stores raw unless it saves at least 1/64",
          "[unit][compress]") {
  Compressor compressor;
  // 64 KiB of random bytes with a run of zeros: only the run compresses, so
  // the run's length decides which side of the 1 KiB threshold we are on.
  auto with_zero_run = [](size_t run) {
    Bytes data = testing::RandomBytes(11, 64 << 10);
    std::fill(data.begin() + 1000, data.begin() + 1000 + run, 0);
    return data;
  };
  Bytes packed;
  CHECK(compressor.Compress(with_zero_run(600), &packed) == Codec::kNone);
  Bytes data = with_zero_run(3000);
  REQUIRE(compressor.Compress(data, &packed) == Codec::kZstd);
  CHECK(data.size() - packed.size() >= data.size() / 64);
  CHECK(*Decompress(Codec::kZstd, packed, data.size()) == data);
}

TEST_CASE("zstd codec keeps empty and tiny inputs raw", "[unit][compress]") {
  Compressor compressor;
  Bytes packed;
  CHECK(compressor.Compress(ByteView(), &packed) == Codec::kNone);
  Bytes zeros(63, 0);
  CHECK(compressor.Compress(zeros, &packed) == Codec::kNone);
  auto empty = Decompress(Codec::kNone, ByteView(), 0);
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("zstd codec rejects a wrong expected size", "[unit][compress]") {
  Compressor compressor;
  Bytes data = testing::CompressibleBytes(4, 100000);
  Bytes packed;
  REQUIRE(compressor.Compress(data, &packed) == Codec::kZstd);
  CHECK(Decompress(Codec::kZstd, packed, data.size() - 1).error().code() ==
        ErrorCode::kCorruption);
  CHECK(Decompress(Codec::kZstd, packed, data.size() + 1).error().code() ==
        ErrorCode::kCorruption);
  CHECK(Decompress(Codec::kNone, data, data.size() + 1).error().code() ==
        ErrorCode::kCorruption);
}

TEST_CASE("zstd codec rejects corrupt frames", "[unit][compress]") {
  Compressor compressor;
  Bytes data = testing::CompressibleBytes(5, 200000);
  Bytes packed;
  REQUIRE(compressor.Compress(data, &packed) == Codec::kZstd);
  auto code = [&](const Bytes& frame) {
    auto r = Decompress(Codec::kZstd, frame, data.size());
    return r ? ErrorCode::kOk : r.error().code();
  };

  Bytes bad_magic = packed;
  bad_magic[0] ^= 0x01;
  CHECK(code(bad_magic) == ErrorCode::kCorruption);

  Bytes truncated(packed.begin(), packed.end() - 1);
  CHECK(code(truncated) == ErrorCode::kCorruption);

  Bytes trailing = packed;
  trailing.push_back(0);
  CHECK(code(trailing) == ErrorCode::kCorruption);

  Bytes two_frames = packed;
  two_frames.insert(two_frames.end(), packed.begin(), packed.end());
  CHECK(code(two_frames) == ErrorCode::kCorruption);

  // Every truncation is refused, none crashes (run under ASan).
  for (size_t n = 0; n < packed.size(); n += 97) {
    CHECK(code(Bytes(packed.begin(), packed.begin() + n)) ==
          ErrorCode::kCorruption);
  }
  CHECK(Decompress(static_cast<Codec>(7), packed, data.size()).error().code() ==
        ErrorCode::kCorruption);
}

TEST_CASE("zstd codec refuses blobs claiming more than 64 MiB",
          "[unit][compress]") {
  Compressor compressor;
  Bytes data = testing::CompressibleBytes(6, 4096);
  Bytes packed;
  REQUIRE(compressor.Compress(data, &packed) == Codec::kZstd);
  auto r = Decompress(Codec::kZstd, packed, (size_t{64} << 20) + 1);
  REQUIRE(!r);
  CHECK(r.error().code() == ErrorCode::kCorruption);
}

}  // namespace
}  // namespace coffre::compress
