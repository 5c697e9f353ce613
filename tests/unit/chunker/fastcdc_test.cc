#include "core/chunker/fastcdc.h"

#include <catch2/catch.hpp>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "tests/support/random_data.h"

namespace coffre::chunker {
namespace {

const Params kSmall{8192, 32768, 131072};

GearTable TestGear() { return DeriveGearTable(AsBytes("coffre test secret")); }

// Cut lengths of `data`, fed the way a streaming caller does at the end of a
// stream: the whole remainder, which FindCut must never overrun.
std::vector<size_t> Cuts(const Chunker& chunker, ByteView data) {
  std::vector<size_t> cuts;
  for (size_t pos = 0; pos < data.size();) {
    size_t cut = chunker.FindCut(data.subspan(pos));
    REQUIRE(cut > 0);
    cuts.push_back(cut);
    pos += cut;
  }
  return cuts;
}

std::vector<std::string> Chunks(ByteView data,
                                const std::vector<size_t>& cuts) {
  std::vector<std::string> chunks;
  size_t pos = 0;
  for (size_t cut : cuts) {
    chunks.emplace_back(AsChars(data.subspan(pos, cut)));
    pos += cut;
  }
  return chunks;
}

TEST_CASE("gear table derivation matches the HMAC-SHA-256 known answer",
          "[unit][chunker]") {
  // Cross-checked with Python's hmac module: words 0 and 255 are the first
  // and last little-endian u64 of blocks 0 and 63.
  GearTable gear = TestGear();
  CHECK(gear[0] == 0xf795f9d284ebace2ULL);
  CHECK(gear[255] == 0xc625f4b8e3311182ULL);
}

TEST_CASE("fastcdc cuts 2 MiB of seeded random data at pinned lengths",
          "[unit][chunker]") {
  // Computed once by this implementation and, independently, by a Python
  // transcription of docs/format/chunker.md; both agreed.
  const std::vector<size_t> kExpected = {
      40797, 31653, 34239, 20196, 16250, 49588, 41239, 38872, 37671, 34707,
      44294, 40781, 28643, 37746, 34508, 59897, 13189, 48414, 15281, 14901,
      40804, 20724, 31523, 42380, 33661, 31520, 39294, 78982, 39308, 29468,
      51205, 42172, 33266, 8618,  40536, 33854, 32866, 23202, 29348, 40202,
      43048, 18712, 35909, 53134, 51087, 34696, 42113, 36994, 47668, 33691,
      41224, 38542, 32150, 13392, 36550, 54650, 34478, 39419, 3896};
  Bytes data = testing::RandomBytes(42, 2 << 20);
  Chunker chunker(kSmall, TestGear());
  std::vector<size_t> cuts = Cuts(chunker, data);
  CHECK(cuts == kExpected);
  CHECK(std::accumulate(cuts.begin(), cuts.end(), size_t{0}) == data.size());
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    CHECK(cuts[i] > kSmall.min_size);
    CHECK(cuts[i] <= kSmall.max_size);
  }
}

TEST_CASE("fastcdc boundaries realign after an insertion near the start",
          "[unit][chunker]") {
  Bytes original = testing::RandomBytes(7, 4 << 20);
  Bytes edited = original;
  Bytes inserted = testing::RandomBytes(8, 100);
  edited.insert(edited.begin() + 1000, inserted.begin(), inserted.end());

  Chunker chunker(kSmall, TestGear());
  std::vector<std::string> before = Chunks(original, Cuts(chunker, original));
  std::vector<std::string> after = Chunks(edited, Cuts(chunker, edited));
  std::set<std::string> known(before.begin(), before.end());
  size_t shared = 0;
  for (const std::string& chunk : after) shared += known.count(chunk);
  INFO("chunks " << after.size() << ", shared " << shared);
  REQUIRE(after.size() > 50);
  // Only the chunk holding the edit (and at worst its neighbour) is new.
  CHECK(shared + 2 >= after.size());
}

TEST_CASE("fastcdc with a different secret cuts elsewhere", "[unit][chunker]") {
  Bytes data = testing::RandomBytes(42, 2 << 20);
  Chunker a(kSmall, TestGear());
  Chunker b(kSmall, DeriveGearTable(AsBytes("another secret")));
  CHECK(DeriveGearTable(AsBytes("another secret")) != TestGear());
  CHECK(Cuts(a, data) != Cuts(b, data));
}

TEST_CASE("fastcdc average chunk size is within 30% of avg on random data",
          "[unit][chunker]") {
  Bytes data = testing::RandomBytes(1234, 16 << 20);
  Chunker chunker(kSmall, TestGear());
  std::vector<size_t> cuts = Cuts(chunker, data);
  double mean =
      static_cast<double>(data.size()) / static_cast<double>(cuts.size());
  INFO("mean chunk size " << mean);
  CHECK(mean > 0.7 * kSmall.avg_size);
  CHECK(mean < 1.3 * kSmall.avg_size);
}

TEST_CASE("fastcdc cuts a run of zeros at max_size", "[unit][chunker]") {
  Bytes zeros(3 * kSmall.max_size + 5, 0);
  Chunker chunker(kSmall, TestGear());
  std::vector<size_t> cuts = Cuts(chunker, zeros);
  CHECK(cuts == std::vector<size_t>{kSmall.max_size, kSmall.max_size,
                                    kSmall.max_size, 5});
}

TEST_CASE("fastcdc returns short input as one chunk", "[unit][chunker]") {
  Chunker chunker(kSmall, TestGear());
  Bytes data = testing::RandomBytes(3, kSmall.min_size + 1);
  CHECK(chunker.FindCut(ByteView()) == 0);
  CHECK(chunker.FindCut(ByteView(data).first(1)) == 1);
  CHECK(chunker.FindCut(ByteView(data).first(kSmall.min_size)) ==
        kSmall.min_size);
  // min_size + 1 bytes: the first possible cut is also the end.
  CHECK(chunker.FindCut(data) == kSmall.min_size + 1);
}

TEST_CASE("fastcdc never returns more than max_size", "[unit][chunker]") {
  // With every gear word 2^63 the hash stays 2^63: its top bit never
  // clears, no mask ever matches, and every cut is forced.
  GearTable top_bit;
  top_bit.fill(uint64_t{1} << 63);
  Chunker chunker(kSmall, top_bit);
  Bytes data = testing::RandomBytes(5, 2 * kSmall.max_size);
  CHECK(chunker.FindCut(data) == kSmall.max_size);
}

TEST_CASE("chunker params are validated", "[unit][chunker]") {
  CHECK(ValidateParams(Params{}).ok());
  CHECK(ValidateParams(kSmall).ok());
  CHECK(ValidateParams({64, 128, 256}).ok());
  CHECK(ValidateParams({63, 128, 256}).code() == ErrorCode::kInvalidArgument);
  CHECK(ValidateParams({8192, 30000, 131072}).code() ==
        ErrorCode::kInvalidArgument);
  CHECK(ValidateParams({32768, 32768, 131072}).code() ==
        ErrorCode::kInvalidArgument);
  CHECK(ValidateParams({8192, 32768, 32768}).code() ==
        ErrorCode::kInvalidArgument);
  CHECK(ValidateParams({8192, 1 << 20, (64 << 20) + 1}).code() ==
        ErrorCode::kInvalidArgument);
  CHECK(ValidateParams({8192, 1 << 20, 64 << 20}).ok());
}

}  // namespace
}  // namespace coffre::chunker
