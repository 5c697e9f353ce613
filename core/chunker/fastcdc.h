// FastCDC content-defined chunking with normalized chunking (Xia et al.,
// USENIX ATC 2016, "normalization level 2"), with a gear table derived from a
// repository secret so that cut points do not fingerprint known files.
//
// The chunker is a pure function of (params, gear table, bytes): FindCut
// looks at a window and says where the next chunk ends. Callers stream a file
// through a buffer of at least `max_size` bytes. Thread-safety: a Chunker is
// immutable after construction and may be shared by threads.
#pragma once

#include <array>
#include <cstdint>

#include "core/base/bytes.h"

namespace coffre::chunker {

struct Params {
  uint32_t min_size = 256 * 1024;
  uint32_t avg_size = 1024 * 1024;  // must be a power of two
  uint32_t max_size = 4 * 1024 * 1024;
};

// kInvalidArgument unless 64 <= min < avg < max <= 64 MiB and avg is a power
// of two.
Status ValidateParams(const Params& params);

using GearTable = std::array<uint64_t, 256>;

// 256 pseudo-random 64-bit words from HMAC-SHA-256(secret, "coffre gear" || i).
GearTable DeriveGearTable(ByteView secret);

class Chunker {
 public:
  // `params` must have passed ValidateParams.
  Chunker(const Params& params, const GearTable& gear);

  // Length of the chunk that starts at data[0]. If data.size() <= min_size
  // the whole view is one chunk (a caller passes a short view only at the end
  // of the stream). Never returns more than max_size or 0 for non-empty data.
  size_t FindCut(ByteView data) const;

  const Params& params() const { return params_; }

 private:
  Params params_;
  GearTable gear_;
  uint64_t mask_small_;  // harder to match: used before avg_size
  uint64_t mask_large_;  // easier to match: used after avg_size
};

}  // namespace coffre::chunker
