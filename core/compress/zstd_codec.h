// Blob compression with zstd. A chunk that zstd does not make smaller is kept
// raw, so already-compressed data costs nothing on restore.
// Thread-safety: Compressor holds a zstd context: one per thread. Decompress
// is a free function and is safe from any thread.
#pragma once

#include <memory>

#include "core/base/bytes.h"

namespace coffre::compress {

enum class Codec : uint8_t { kNone = 0, kZstd = 1 };

class Compressor {
 public:
  // `level`: zstd level 1..19 (3 is the default; see shared/notes on why
  // levels above 4 are slow on incompressible data).
  explicit Compressor(int level = 3);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Compresses `data` into `out` (replacing its content) and returns kZstd,
  // or leaves `out` empty and returns kNone when compression does not save at
  // least 1/64 of the size.
  Codec Compress(ByteView data, Bytes* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Returns the plaintext. `expected_size` is the length recorded in the index;
// kCorruption if the frame is malformed or its length differs.
Result<Bytes> Decompress(Codec codec, ByteView data, size_t expected_size);

}  // namespace coffre::compress
