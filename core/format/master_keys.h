// MasterKeys: the secrets of one repository, created at `init` and never
// changed; key slots wrap them under passphrases. The vault never sees them.
// Thread-safety: values (wiped on destruction).
#pragma once

#include "core/crypto/aead.h"

namespace coffre::format {

struct MasterKeys {
  crypto::Key data_key{};     // seals blobs, pack headers and objects (via HKDF)
  crypto::Key id_key{};       // HMAC key of blob ids
  crypto::Key chunker_key{};  // derives the chunker's gear table

  static MasterKeys Generate();
  MasterKeys() = default;
  MasterKeys(const MasterKeys&) = default;
  MasterKeys& operator=(const MasterKeys&) = default;
  ~MasterKeys();
};

}  // namespace coffre::format
