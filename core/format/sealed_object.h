// Sealed objects: how every encrypted object except packs is stored (index,
// snapshot). Layout (docs/format/crypto.md):
//   magic[4] | version u8 | salt[32] | AES-256-GCM(ciphertext || tag)
// The AEAD key is HKDF(data_key, salt, "coffre object " + magic), nonce 0,
// and the 37 header bytes are the associated data, so neither magic nor
// version can be changed without detection.
// Thread-safety: free functions.
#pragma once

#include <string_view>

#include "core/crypto/aead.h"

namespace coffre::format {

Bytes SealObject(const crypto::Key& data_key, std::string_view magic,
                 uint8_t version, ByteView plaintext);

struct OpenedObject {
  uint8_t version = 0;
  Bytes plaintext;
};

// kCorruption if the magic differs, the object is short or the tag fails;
// kUnsupportedVersion if version > max_version (checked before decrypting).
Result<OpenedObject> OpenObject(const crypto::Key& data_key,
                                std::string_view magic, uint8_t max_version,
                                ByteView sealed);

}  // namespace coffre::format
