// SHA-256 and HMAC-SHA-256 (OpenSSL EVP; uses SHA-NI where the CPU has it).
// Sha256 names packs and stored objects; HmacSha256 makes blob ids and derives
// the chunker's gear table. Objects are not thread-safe; use one per thread.
#pragma once

#include <array>
#include <memory>

#include "core/base/bytes.h"

namespace coffre::crypto {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(ByteView data);

// Whether a and b are equal, in time that depends only on their lengths
// (for comparing secrets' hashes).
bool ConstantTimeEqual(ByteView a, ByteView b);

// Streaming SHA-256, for a pack built or read in pieces.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(ByteView data);
  // Returns the digest; the stream is reset and may be reused.
  Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HMAC-SHA-256 under a fixed key. Create once, call Compute from one thread
// at a time (it reuses an OpenSSL context, which is what makes it fast).
class HmacSha256 {
 public:
  explicit HmacSha256(ByteView key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;
  Digest Compute(ByteView data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coffre::crypto
