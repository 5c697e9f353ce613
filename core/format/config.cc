// Repository config encoding (docs/format/config.md).
#include "core/format/config.h"

#include <algorithm>
#include <limits>
#include <string>

#include "core/base/encoding.h"
#include "core/crypto/hash.h"

namespace coffre::format {

namespace {

constexpr char kMagic[] = "CFCF";
constexpr size_t kHmacSize = 32;
constexpr uint8_t kMaxCompressionLevel = 22;  // ZSTD_maxCLevel()

// The id key also makes blob ids; the label keeps a config's HMAC from ever
// equalling the id of a chunk that holds the same bytes.
constexpr std::string_view kHmacLabel{"coffre config\0", 14};

crypto::Digest ConfigHmac(ByteView body, const crypto::Key& id_key) {
  crypto::HmacSha256 hmac(ByteView(id_key.data(), id_key.size()));
  Bytes labelled(kHmacLabel.begin(), kHmacLabel.end());
  labelled.insert(labelled.end(), body.begin(), body.end());
  return hmac.Compute(labelled);
}

Result<uint32_t> ReadSize(Reader& r) {
  ASSIGN_OR_RETURN(uint64_t v, r.Varint());
  if (v > std::numeric_limits<uint32_t>::max()) {
    return Err(CorruptionError("config: chunker size out of range"));
  }
  return static_cast<uint32_t>(v);
}

}  // namespace

Bytes EncodeConfig(const Config& config, const crypto::Key& id_key) {
  Writer w;
  w.Raw(AsBytes(std::string_view(kMagic, 4)));
  w.U8(config.version);
  w.Raw(config.repo_id);
  w.SignedVarint(config.created_ns);
  w.Varint(config.chunker.min_size);
  w.Varint(config.chunker.avg_size);
  w.Varint(config.chunker.max_size);
  w.U8(config.compression_level);
  crypto::Digest mac = ConfigHmac(w.bytes(), id_key);
  w.Raw(mac);
  return w.Take();
}

Result<Config> DecodeConfig(ByteView data) {
  Reader r(data);
  auto magic = r.Raw(4);
  if (!magic || AsChars(*magic) != std::string_view(kMagic, 4)) {
    return Err(CorruptionError("not a coffre repository config (bad magic)"));
  }
  // The version comes before anything else is parsed: a newer layout may
  // differ in every later byte.
  Config c;
  ASSIGN_OR_RETURN(c.version, r.U8());
  if (c.version > kRepositoryVersion) {
    return Err(UnsupportedVersionError(
        "repository format version " + std::to_string(c.version) +
        " is newer than this coffre (reads up to " +
        std::to_string(kRepositoryVersion) + "); upgrade coffre"));
  }
  if (c.version == 0) return Err(CorruptionError("config: format version 0"));
  ASSIGN_OR_RETURN(ByteView repo_id, r.Raw(c.repo_id.size()));
  std::copy(repo_id.begin(), repo_id.end(), c.repo_id.begin());
  ASSIGN_OR_RETURN(c.created_ns, r.SignedVarint());
  ASSIGN_OR_RETURN(c.chunker.min_size, ReadSize(r));
  ASSIGN_OR_RETURN(c.chunker.avg_size, ReadSize(r));
  ASSIGN_OR_RETURN(c.chunker.max_size, ReadSize(r));
  Status params = chunker::ValidateParams(c.chunker);
  if (!params.ok()) return Err(CorruptionError("config: " + params.message()));
  ASSIGN_OR_RETURN(c.compression_level, r.U8());
  if (c.compression_level < 1 || c.compression_level > kMaxCompressionLevel) {
    return Err(CorruptionError("config: compression level " +
                               std::to_string(c.compression_level) +
                               " out of range"));
  }
  if (!r.Raw(kHmacSize))
    return Err(CorruptionError("config: HMAC is truncated"));
  if (!r.done()) return Err(CorruptionError("config: trailing bytes"));
  return c;
}

Status VerifyConfig(ByteView data, const crypto::Key& id_key) {
  if (data.size() < kHmacSize) return CorruptionError("config is truncated");
  ByteView body = data.first(data.size() - kHmacSize);
  ByteView stored = data.last(kHmacSize);
  crypto::Digest expected = ConfigHmac(body, id_key);
  // Constant time, so a forger learns nothing from how long a check took.
  uint8_t diff = 0;
  for (size_t i = 0; i < kHmacSize; ++i) diff |= expected[i] ^ stored[i];
  if (diff != 0) {
    return CorruptionError(
        "config HMAC does not match: the config was altered or belongs to "
        "another repository");
  }
  return Status::Ok();
}

}  // namespace coffre::format
