// Plaintext layout of an index object (docs/format/index.md); SealObject adds
// magic "CFIX", version and encryption around it:
//
//   varint pack_count
//   pack_count x { pack_id[32] | salt[32] | varint size | varint entry_count |
//                  entry_count x { blob_id[32] | type u8 | codec u8 |
//                                  varint offset | varint stored_len |
//                                  varint raw_len } }
//   varint supersedes_count | supersedes_count x object_id[32]
//
// Every count is checked against the bytes left before anything is reserved,
// so a hostile count fails as kCorruption without allocating.
#include "core/format/index.h"

#include <limits>
#include <string>

#include "core/base/encoding.h"

namespace coffre::format {
namespace {

constexpr size_t kMinEntrySize = 32 + 1 + 1 + 3;
constexpr size_t kMinPackSize = 32 + 32 + 1 + 1;
// The smallest pack with one blob: preamble, the blob's tag, header tag, footer.
constexpr uint64_t kHeaderAndFooterMin = crypto::Aead::kTagSize + kPackFooterSize;

template <typename Tag>
Result<Id<Tag>> ReadId(Reader* r) {
  ASSIGN_OR_RETURN(ByteView raw, r->Raw(32));
  return Id<Tag>::FromBytes(raw);
}

Result<PackEntry> DecodeEntry(Reader* r, uint64_t pack_size) {
  PackEntry e;
  ASSIGN_OR_RETURN(e.id, ReadId<BlobIdTag>(r));
  ASSIGN_OR_RETURN(uint8_t type, r->U8());
  if (type != static_cast<uint8_t>(BlobType::kData) &&
      type != static_cast<uint8_t>(BlobType::kTree)) {
    return Err(CorruptionError("index entry has unknown blob type " + std::to_string(type)));
  }
  ASSIGN_OR_RETURN(uint8_t codec, r->U8());
  if (codec != static_cast<uint8_t>(compress::Codec::kNone) &&
      codec != static_cast<uint8_t>(compress::Codec::kZstd)) {
    return Err(CorruptionError("index entry has unknown codec " + std::to_string(codec)));
  }
  e.type = static_cast<BlobType>(type);
  e.codec = static_cast<compress::Codec>(codec);
  ASSIGN_OR_RETURN(e.offset, r->Varint());
  ASSIGN_OR_RETURN(uint64_t stored_len, r->Count(std::numeric_limits<uint32_t>::max()));
  ASSIGN_OR_RETURN(uint64_t raw_len, r->Count(std::numeric_limits<uint32_t>::max()));
  if (stored_len < crypto::Aead::kTagSize ||
      (e.codec == compress::Codec::kNone &&
       raw_len != stored_len - crypto::Aead::kTagSize)) {
    return Err(CorruptionError("index entry has inconsistent lengths"));
  }
  // The blob must lie between the preamble and the smallest possible header.
  uint64_t blob_end = pack_size - kHeaderAndFooterMin;
  if (e.offset < kPackPreambleSize || e.offset > blob_end ||
      blob_end - e.offset < stored_len) {
    return Err(CorruptionError("index entry lies outside its pack"));
  }
  e.stored_len = static_cast<uint32_t>(stored_len);
  e.raw_len = static_cast<uint32_t>(raw_len);
  return e;
}

Result<IndexedPack> DecodePack(Reader* r) {
  IndexedPack pack;
  ASSIGN_OR_RETURN(pack.id, ReadId<PackIdTag>(r));
  ASSIGN_OR_RETURN(ByteView salt, r->Raw(pack.salt.size()));
  std::copy(salt.begin(), salt.end(), pack.salt.begin());
  ASSIGN_OR_RETURN(pack.size, r->Varint());
  if (pack.size < kPackPreambleSize + kHeaderAndFooterMin) {
    return Err(CorruptionError("index names a pack smaller than an empty pack"));
  }
  ASSIGN_OR_RETURN(uint64_t count, r->Count(r->remaining() / kMinEntrySize));
  pack.entries.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(PackEntry e, DecodeEntry(r, pack.size));
    pack.entries.push_back(e);
  }
  return pack;
}

}  // namespace

Bytes EncodeIndex(const IndexFile& index) {
  Writer w;
  w.Varint(index.packs.size());
  for (const IndexedPack& pack : index.packs) {
    w.Raw(pack.id.view());
    w.Raw(pack.salt);
    w.Varint(pack.size);
    w.Varint(pack.entries.size());
    for (const PackEntry& e : pack.entries) {
      w.Raw(e.id.view());
      w.U8(static_cast<uint8_t>(e.type));
      w.U8(static_cast<uint8_t>(e.codec));
      w.Varint(e.offset);
      w.Varint(e.stored_len);
      w.Varint(e.raw_len);
    }
  }
  w.Varint(index.supersedes.size());
  for (const ObjectId& id : index.supersedes) w.Raw(id.view());
  return w.Take();
}

Result<IndexFile> DecodeIndex(ByteView data) {
  Reader r(data);
  IndexFile index;
  ASSIGN_OR_RETURN(uint64_t pack_count, r.Count(r.remaining() / kMinPackSize));
  index.packs.reserve(pack_count);
  for (uint64_t i = 0; i < pack_count; ++i) {
    auto pack = DecodePack(&r);
    if (!pack) return Err(pack.error().WithContext("index pack " + std::to_string(i)));
    index.packs.push_back(std::move(*pack));
  }
  ASSIGN_OR_RETURN(uint64_t superseded, r.Count(r.remaining() / ObjectId::kSize));
  index.supersedes.reserve(superseded);
  for (uint64_t i = 0; i < superseded; ++i) {
    ASSIGN_OR_RETURN(ObjectId id, ReadId<ObjectIdTag>(&r));
    index.supersedes.push_back(id);
  }
  if (!r.done()) return Err(CorruptionError("index has trailing bytes"));
  return index;
}

}  // namespace coffre::format
