// AES-256-GCM sealing of blobs, packs headers and objects (OpenSSL EVP).
//
// Nonce discipline (docs/format/crypto.md): a key is never used directly.
// Each pack and each sealed object draws a fresh random 32-byte salt and
// derives its own subkey with HKDF; within a subkey the 96-bit nonce is a
// counter chosen by the caller (blob number in a pack). Two uses of one nonce
// under one subkey would need two equal 256-bit salts.
// Thread-safety: Aead holds only the key; Seal/Open are safe from many threads.
#pragma once

#include <array>
#include <cstdint>

#include "core/base/bytes.h"

namespace coffre::crypto {

using Key = std::array<uint8_t, 32>;

class Aead {
 public:
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kNonceSize = 12;

  explicit Aead(const Key& key) : key_(key) {}
  ~Aead();

  // Returns ciphertext || 16-byte tag. `nonce` is a counter (little-endian in
  // the 12-byte GCM nonce); `aad` is authenticated but not stored.
  Bytes Seal(uint64_t nonce, ByteView plaintext, ByteView aad) const;
  // Appends ciphertext || tag to `out` (avoids a copy when building packs).
  void SealAppend(uint64_t nonce, ByteView plaintext, ByteView aad, Bytes* out) const;

  // Verifies and decrypts; kCorruption if the tag does not match (tampered
  // data, wrong key, wrong nonce or aad).
  Result<Bytes> Open(uint64_t nonce, ByteView sealed, ByteView aad) const;

 private:
  Key key_;
};

// HKDF-SHA-256 (RFC 5869): 32 bytes from `ikm`, `salt` and `info`.
Key Hkdf(ByteView ikm, ByteView salt, ByteView info);

// Parameters of the memory-hard passphrase KDF (scrypt, RFC 7914).
// The default for new key slots, N = 2^15, r = 8, p = 3, is one of OWASP's
// equivalent minimum scrypt settings: 32 MiB and about 0.3 s here. It
// replaced N = 2^16, p = 1 (64 MiB, 0.26 s, below that minimum), whose
// memory was most of a short run's peak; slots keep the cost they were
// made with, so older ones open as before.
struct ScryptParams {
  uint64_t n = 1 << 15;  // memory cost: 128 * r * N bytes = 32 MiB
  uint32_t r = 8;
  uint32_t p = 3;  // time cost: p passes over that memory, one after another
};

// Derives 32 bytes from a passphrase. kInvalidArgument on parameters that
// are not a power of two or that would need more than 1 GiB.
Result<Key> Scrypt(ByteView passphrase, ByteView salt, const ScryptParams& params);

}  // namespace coffre::crypto
