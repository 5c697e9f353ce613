#include "core/format/sealed_object.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/crypto/random.h"

namespace coffre::format {
namespace {

constexpr size_t kMagicSize = 4;
constexpr size_t kSaltSize = 32;
constexpr size_t kHeaderSize = kMagicSize + 1 + kSaltSize;  // 37: the aad

// The magic is part of the HKDF info, so an index can never be opened as a
// snapshot even if someone swapped the first four bytes and the tag.
crypto::Key ObjectKey(const crypto::Key& data_key, std::string_view magic,
                      ByteView salt) {
  std::string info = "coffre object ";
  info.append(magic);
  return crypto::Hkdf(data_key, salt, AsBytes(info));
}

}  // namespace

Bytes SealObject(const crypto::Key& data_key, std::string_view magic,
                 uint8_t version, ByteView plaintext) {
  if (magic.size() != kMagicSize) {
    // Magics are compile-time constants of the format units.
    std::fputs("coffre: SealObject magic must be 4 bytes\n", stderr);
    std::abort();
  }
  std::array<uint8_t, kHeaderSize> header;
  std::memcpy(header.data(), magic.data(), kMagicSize);
  header[kMagicSize] = version;
  crypto::RandomFill(header.data() + kMagicSize + 1, kSaltSize);
  crypto::Key key = ObjectKey(data_key, magic, ByteView(header).subspan(kMagicSize + 1));
  crypto::Aead aead(key);
  SecureWipe(key.data(), key.size());
  Bytes out;
  out.reserve(kHeaderSize + plaintext.size() + crypto::Aead::kTagSize);
  out.assign(header.begin(), header.end());
  aead.SealAppend(0, plaintext, header, &out);
  return out;
}

Result<OpenedObject> OpenObject(const crypto::Key& data_key,
                                std::string_view magic, uint8_t max_version,
                                ByteView sealed) {
  if (sealed.size() < kHeaderSize + crypto::Aead::kTagSize) {
    return Err(CorruptionError("sealed object is truncated"));
  }
  if (magic.size() != kMagicSize || AsChars(sealed.first(kMagicSize)) != magic) {
    return Err(CorruptionError("sealed object has the wrong magic (want " +
                               std::string(magic) + ")"));
  }
  uint8_t version = sealed[kMagicSize];
  if (version == 0) return Err(CorruptionError("sealed object has version 0"));
  if (version > max_version) {
    return Err(UnsupportedVersionError(
        std::string(magic) + " object has version " + std::to_string(version) +
        ", this build reads up to " + std::to_string(max_version)));
  }
  ByteView header = sealed.first(kHeaderSize);
  crypto::Key key = ObjectKey(data_key, magic, header.subspan(kMagicSize + 1));
  crypto::Aead aead(key);
  SecureWipe(key.data(), key.size());
  auto plain = aead.Open(0, sealed.subspan(kHeaderSize), header);
  if (!plain) {
    return Err(CorruptionError(std::string(magic) +
                               " object does not decrypt (damaged or wrong key)"));
  }
  return OpenedObject{version, std::move(*plain)};
}

}  // namespace coffre::format
