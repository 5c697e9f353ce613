// Pack: many encrypted blobs in one stored object of a few tens of MiB, named
// by the SHA-256 of its bytes. Layout (docs/format/pack.md):
//
//   "CFPK" | version u8 = 1 | 3 zero bytes | salt[32]         (40 bytes)
//   blob 0 | blob 1 | ...     each AES-256-GCM sealed, nonce = its offset
//   header                    sealed, nonce = 2^64-1: the list of entries
//   header_len u32 | "CFPE"   (8 bytes)
//
// The pack key is HKDF(data_key, salt, "coffre pack"); offsets are unique in
// a pack, so no nonce repeats under one key. A blob's associated data is its
// BlobId, so a blob cannot be moved under another id without detection.
// Thread-safety: PackWriter is used by one thread at a time; the decoders are
// free functions.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/compress/zstd_codec.h"
#include "core/crypto/aead.h"
#include "core/id/id.h"

namespace coffre::format {

enum class BlobType : uint8_t { kData = 1, kTree = 2 };

using PackSalt = std::array<uint8_t, 32>;

inline constexpr uint8_t kPackVersion = 1;
inline constexpr size_t kPackPreambleSize = 40;
inline constexpr size_t kPackFooterSize = 8;

struct PackEntry {
  BlobId id;
  BlobType type = BlobType::kData;
  compress::Codec codec = compress::Codec::kNone;
  uint64_t offset = 0;      // of the sealed blob in the pack
  uint32_t stored_len = 0;  // sealed length (ciphertext + 16-byte tag)
  uint32_t raw_len = 0;     // plaintext length after decompression
  bool operator==(const PackEntry&) const = default;
};

class PackWriter {
 public:
  // Draws a fresh random salt; the pack key is derived from it.
  // `expected_size`: the final size the caller expects (memory is reserved).
  explicit PackWriter(const crypto::Key& data_key, size_t expected_size = 0);

  // Seals `stored` (the compressed or raw chunk) and appends it.
  void AddBlob(BlobType type, const BlobId& id, compress::Codec codec,
               uint32_t raw_len, ByteView stored);

  size_t size() const { return bytes_.size(); }
  size_t blob_count() const { return entries_.size(); }
  const PackSalt& salt() const { return salt_; }

  struct Finished {
    PackId id;
    PackSalt salt;
    Bytes bytes;
    std::vector<PackEntry> entries;
  };
  // Appends header and footer and returns the pack; the writer is spent.
  Finished Finish();

 private:
  PackSalt salt_;
  crypto::Aead aead_;
  Bytes bytes_;
  std::vector<PackEntry> entries_;
};

// The pack key for a salt (exposed so readers can open single blobs).
crypto::Key PackKey(const crypto::Key& data_key, const PackSalt& salt);

// Decrypts one blob read from a pack at entry.offset; returns the plaintext
// after decompression. kCorruption on a tag mismatch or a bad frame. The
// caller still checks that HMAC(plaintext) == entry.id.
Result<Bytes> OpenBlob(const crypto::Key& pack_key, const PackEntry& entry,
                       ByteView sealed);

struct PackContents {
  PackSalt salt;
  std::vector<PackEntry> entries;
};

// From the last kPackFooterSize bytes of a pack: how many bytes at the end of
// the pack (header + footer) DecodePackHeader needs. kCorruption if the
// footer magic is wrong.
Result<size_t> PackTailSize(ByteView footer);

// Reads salt and entries from the first kPackPreambleSize bytes of a pack and
// its last PackTailSize() bytes. kCorruption on a bad magic, a header that
// does not decrypt, or entries that overlap or run past the header;
// kUnsupportedVersion on a version above kPackVersion.
Result<PackContents> DecodePackHeader(const crypto::Key& data_key,
                                      ByteView preamble, ByteView tail,
                                      uint64_t pack_size);

}  // namespace coffre::format
