#include "core/format/pack.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "core/base/encoding.h"
#include "core/crypto/hash.h"
#include "core/crypto/random.h"

namespace coffre::format {
namespace {

constexpr char kPackMagic[4] = {'C', 'F', 'P', 'K'};
constexpr char kFooterMagic[4] = {'C', 'F', 'P', 'E'};
constexpr uint64_t kHeaderNonce = std::numeric_limits<uint64_t>::max();
// Smallest encoding of one header entry: id, type, codec, three 1-byte varints.
constexpr size_t kMinEntrySize = 32 + 1 + 1 + 3;

PackSalt RandomSalt() {
  PackSalt salt;
  crypto::RandomFill(salt.data(), salt.size());
  return salt;
}

void EncodeEntry(const PackEntry& e, Writer* w) {
  w->Raw(e.id.view());
  w->U8(static_cast<uint8_t>(e.type));
  w->U8(static_cast<uint8_t>(e.codec));
  w->Varint(e.offset);
  w->Varint(e.stored_len);
  w->Varint(e.raw_len);
}

Result<PackEntry> DecodeEntry(Reader* r) {
  PackEntry e;
  ASSIGN_OR_RETURN(ByteView id, r->Raw(BlobId::kSize));
  ASSIGN_OR_RETURN(e.id, BlobId::FromBytes(id));
  ASSIGN_OR_RETURN(uint8_t type, r->U8());
  if (type != static_cast<uint8_t>(BlobType::kData) &&
      type != static_cast<uint8_t>(BlobType::kTree)) {
    return Err(CorruptionError("pack entry has unknown blob type " + std::to_string(type)));
  }
  e.type = static_cast<BlobType>(type);
  ASSIGN_OR_RETURN(uint8_t codec, r->U8());
  if (codec != static_cast<uint8_t>(compress::Codec::kNone) &&
      codec != static_cast<uint8_t>(compress::Codec::kZstd)) {
    return Err(CorruptionError("pack entry has unknown codec " + std::to_string(codec)));
  }
  e.codec = static_cast<compress::Codec>(codec);
  ASSIGN_OR_RETURN(e.offset, r->Varint());
  ASSIGN_OR_RETURN(uint64_t stored_len, r->Count(std::numeric_limits<uint32_t>::max()));
  ASSIGN_OR_RETURN(uint64_t raw_len, r->Count(std::numeric_limits<uint32_t>::max()));
  if (stored_len < crypto::Aead::kTagSize) {
    return Err(CorruptionError("pack entry shorter than its tag"));
  }
  // A raw blob's plaintext is exactly its stored bytes minus the tag.
  if (e.codec == compress::Codec::kNone &&
      raw_len != stored_len - crypto::Aead::kTagSize) {
    return Err(CorruptionError("raw pack entry has inconsistent lengths"));
  }
  e.stored_len = static_cast<uint32_t>(stored_len);
  e.raw_len = static_cast<uint32_t>(raw_len);
  return e;
}

// Every entry must lie in [kPackPreambleSize, header_start) and no two may
// share a byte: the offset is the nonce, so overlap would also mean reuse.
Status CheckLayout(const std::vector<PackEntry>& entries, uint64_t header_start) {
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  spans.reserve(entries.size());
  for (const PackEntry& e : entries) {
    if (e.offset < kPackPreambleSize || e.offset > header_start ||
        header_start - e.offset < e.stored_len) {
      return CorruptionError("pack entry lies outside the blob area");
    }
    spans.emplace_back(e.offset, e.offset + e.stored_len);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].first < spans[i - 1].second) {
      return CorruptionError("pack entries overlap");
    }
  }
  return Status::Ok();
}

}  // namespace

crypto::Key PackKey(const crypto::Key& data_key, const PackSalt& salt) {
  return crypto::Hkdf(data_key, salt, AsBytes("coffre pack"));
}

PackWriter::PackWriter(const crypto::Key& data_key, size_t expected_size)
    : salt_(RandomSalt()), aead_(PackKey(data_key, salt_)) {
  // Reserving up front spares the copies (and the doubled peak memory) of a
  // growing vector; untouched reserved pages cost no RSS.
  bytes_.reserve(std::max(expected_size, kPackPreambleSize));
  bytes_.insert(bytes_.end(), kPackMagic, kPackMagic + 4);
  bytes_.push_back(kPackVersion);
  bytes_.insert(bytes_.end(), 3, 0);
  bytes_.insert(bytes_.end(), salt_.begin(), salt_.end());
}

void PackWriter::AddBlob(BlobType type, const BlobId& id, compress::Codec codec,
                         uint32_t raw_len, ByteView stored) {
  PackEntry e;
  e.id = id;
  e.type = type;
  e.codec = codec;
  e.offset = bytes_.size();
  e.stored_len = static_cast<uint32_t>(stored.size() + crypto::Aead::kTagSize);
  e.raw_len = raw_len;
  aead_.SealAppend(e.offset, stored, id.view(), &bytes_);
  entries_.push_back(e);
}

PackWriter::Finished PackWriter::Finish() {
  Writer header;
  header.Varint(entries_.size());
  for (const PackEntry& e : entries_) EncodeEntry(e, &header);
  Bytes preamble(bytes_.begin(), bytes_.begin() + kPackPreambleSize);
  size_t header_start = bytes_.size();
  aead_.SealAppend(kHeaderNonce, header.bytes(), preamble, &bytes_);
  uint8_t footer[kPackFooterSize];
  StoreU32(footer, static_cast<uint32_t>(bytes_.size() - header_start));
  std::memcpy(footer + 4, kFooterMagic, 4);
  bytes_.insert(bytes_.end(), footer, footer + kPackFooterSize);

  Finished done;
  done.id = PackId(crypto::Sha256(bytes_));
  done.salt = salt_;
  done.bytes = std::move(bytes_);
  done.entries = std::move(entries_);
  bytes_.clear();
  entries_.clear();
  return done;
}

Result<Bytes> OpenBlob(const crypto::Key& pack_key, const PackEntry& entry,
                       ByteView sealed) {
  if (sealed.size() != entry.stored_len) {
    return Err(CorruptionError("blob " + entry.id.Short() + " has " +
                               std::to_string(sealed.size()) + " bytes, expected " +
                               std::to_string(entry.stored_len)));
  }
  crypto::Aead aead(pack_key);
  auto stored = aead.Open(entry.offset, sealed, entry.id.view());
  if (!stored) {
    return Err(CorruptionError("blob " + entry.id.Short() + " does not decrypt"));
  }
  auto plain = compress::Decompress(entry.codec, *stored, entry.raw_len);
  if (!plain) return Err(plain.error().WithContext("blob " + entry.id.Short()));
  return plain;
}

Result<size_t> PackTailSize(ByteView footer) {
  if (footer.size() != kPackFooterSize) {
    return Err(CorruptionError("pack footer must be 8 bytes"));
  }
  if (std::memcmp(footer.data() + 4, kFooterMagic, 4) != 0) {
    return Err(CorruptionError("pack footer magic is wrong (truncated pack?)"));
  }
  uint32_t header_len = LoadU32(footer.data());
  if (header_len < crypto::Aead::kTagSize) {
    return Err(CorruptionError("pack header length is too small"));
  }
  return static_cast<size_t>(header_len) + kPackFooterSize;
}

Result<PackContents> DecodePackHeader(const crypto::Key& data_key,
                                      ByteView preamble, ByteView tail,
                                      uint64_t pack_size) {
  if (preamble.size() < kPackPreambleSize) {
    return Err(CorruptionError("pack preamble is truncated"));
  }
  preamble = preamble.first(kPackPreambleSize);
  if (std::memcmp(preamble.data(), kPackMagic, 4) != 0) {
    return Err(CorruptionError("not a pack (bad magic)"));
  }
  uint8_t version = preamble[4];
  if (version > kPackVersion) {
    return Err(UnsupportedVersionError(
        "pack version " + std::to_string(version) + " is newer than " +
        std::to_string(kPackVersion) + ", the newest this build reads"));
  }
  if (version == 0 || preamble[5] != 0 || preamble[6] != 0 || preamble[7] != 0) {
    return Err(CorruptionError("pack preamble has a bad version or reserved byte"));
  }
  if (tail.size() < kPackFooterSize) return Err(CorruptionError("pack tail is truncated"));
  ASSIGN_OR_RETURN(size_t tail_size, PackTailSize(tail.last(kPackFooterSize)));
  if (tail.size() < tail_size || pack_size < kPackPreambleSize + tail_size) {
    return Err(CorruptionError("pack is shorter than its header says"));
  }
  uint64_t header_start = pack_size - tail_size;
  ByteView sealed_header =
      tail.last(tail_size).first(tail_size - kPackFooterSize);

  PackContents contents;
  std::memcpy(contents.salt.data(), preamble.data() + 8, contents.salt.size());
  crypto::Key key = PackKey(data_key, contents.salt);
  auto header = crypto::Aead(key).Open(kHeaderNonce, sealed_header, preamble);
  SecureWipe(key.data(), key.size());
  if (!header) {
    return Err(CorruptionError("pack header does not decrypt (damaged or wrong key)"));
  }
  Reader r(*header);
  // Each entry needs kMinEntrySize header bytes and at least a tag's worth of
  // blob area, so a hostile count fails here, before any allocation.
  uint64_t max_entries = std::min<uint64_t>(
      r.remaining() / kMinEntrySize,
      (header_start - kPackPreambleSize) / crypto::Aead::kTagSize);
  ASSIGN_OR_RETURN(uint64_t count, r.Count(max_entries));
  contents.entries.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(PackEntry e, DecodeEntry(&r));
    contents.entries.push_back(e);
  }
  if (!r.done()) return Err(CorruptionError("pack header has trailing bytes"));
  RETURN_IF_ERROR(CheckLayout(contents.entries, header_start));
  return contents;
}

}  // namespace coffre::format
