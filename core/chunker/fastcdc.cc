// FastCDC, normalization level 2 (docs/format/chunker.md).
//
// Choices a compatible implementation must reproduce exactly:
// - Gear hash h = (h << 1) + gear[byte], 64-bit wrapping, starting from 0 at
//   offset min_size: the first min_size bytes of a chunk are never hashed.
// - Masks are the TOP bits of the 64-bit hash (not the spread-out masks of
//   the paper): after the shift, bit 63 depends on the last 64 bytes, so the
//   top bits are the ones that see the widest window. A byte at offset i
//   ends the chunk (chunk length i + 1) when (h & mask) == 0.
// - mask_small has log2(avg) + 2 one-bits and applies to offsets
//   [min_size, avg_size); mask_large has log2(avg) - 2 one-bits and applies to
//   [avg_size, max_size). No match before max_size: cut at max_size.
#include "core/chunker/fastcdc.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <string>

#include "core/base/encoding.h"
#include "core/crypto/hash.h"

namespace coffre::chunker {

namespace {

constexpr uint32_t kMinAllowed = 64;
constexpr uint32_t kMaxAllowed = 64u << 20;

// The top `bits` bits of a 64-bit word.
uint64_t TopBitsMask(int bits) { return ~uint64_t{0} << (64 - bits); }

}  // namespace

Status ValidateParams(const Params& p) {
  if (p.min_size < kMinAllowed || p.min_size >= p.avg_size ||
      p.avg_size >= p.max_size || p.max_size > kMaxAllowed) {
    return InvalidArgumentError(
        "chunker sizes must satisfy 64 <= min < avg < max <= 64 MiB (min " +
        std::to_string(p.min_size) + ", avg " + std::to_string(p.avg_size) +
        ", max " + std::to_string(p.max_size) + ")");
  }
  if (!std::has_single_bit(p.avg_size)) {
    return InvalidArgumentError("chunker avg size " +
                                std::to_string(p.avg_size) +
                                " is not a power of two");
  }
  return Status::Ok();
}

GearTable DeriveGearTable(ByteView secret) {
  // 64 HMAC blocks of 32 bytes, each read as four little-endian words.
  static constexpr char kLabel[] = "coffre gear";
  constexpr size_t kLabelLen = sizeof(kLabel) - 1;
  crypto::HmacSha256 hmac(secret);
  GearTable table{};
  uint8_t message[kLabelLen + 1];
  std::memcpy(message, kLabel, kLabelLen);
  for (size_t block = 0; block < table.size() / 4; ++block) {
    message[kLabelLen] = static_cast<uint8_t>(block);
    crypto::Digest digest = hmac.Compute(ByteView(message, sizeof(message)));
    for (size_t w = 0; w < 4; ++w)
      table[4 * block + w] = LoadU64(digest.data() + 8 * w);
  }
  return table;
}

Chunker::Chunker(const Params& params, const GearTable& gear)
    : params_(params), gear_(gear) {
  assert(ValidateParams(params).ok());
  // Validated params give bits in 7..26; the clamp only keeps the shifts
  // defined for params that skipped ValidateParams.
  const int bits = std::clamp(std::countr_zero(params.avg_size), 3, 61);
  mask_small_ = TopBitsMask(bits + 2);
  mask_large_ = TopBitsMask(bits - 2);
}

size_t Chunker::FindCut(ByteView data) const {
  const size_t size = data.size();
  if (size <= params_.min_size) return size;
  const size_t limit = std::min<size_t>(size, params_.max_size);
  const size_t normal = std::min<size_t>(limit, params_.avg_size);

  // Locals so the compiler keeps everything in registers: the loop body is a
  // load, a shift-add and a test per byte.
  const uint8_t* p = data.data();
  const uint64_t* gear = gear_.data();
  const uint64_t mask_small = mask_small_;
  const uint64_t mask_large = mask_large_;
  uint64_t h = 0;
  size_t i = params_.min_size;
  for (; i < normal; ++i) {
    h = (h << 1) + gear[p[i]];
    if ((h & mask_small) == 0) return i + 1;
  }
  for (; i < limit; ++i) {
    h = (h << 1) + gear[p[i]];
    if ((h & mask_large) == 0) return i + 1;
  }
  return limit;
}

}  // namespace coffre::chunker
