// Key slot: the master keys wrapped under a key derived from one passphrase
// with scrypt. A repository has one slot per agent, admin or recovery key;
// any of them opens it. Stored as keys/ID (ID = SHA-256 of the bytes).
// Layout (docs/format/key-slot.md):
//   "CFKY" | version u8 = 1 | kdf u8 = 1 (scrypt) | log2 N u8 | r varint |
//   p varint | salt[32] | created svarint | host | user | label (strings) |
//   sealed master keys (96 bytes + 16 tag), AES-256-GCM, nonce 0, aad = all
//   bytes before it.
// Thread-safety: free functions.
#pragma once

#include <string>

#include "core/format/master_keys.h"

namespace coffre::format {

inline constexpr uint8_t kKeySlotVersion = 1;

struct KeySlotInfo {
  int64_t created_ns = 0;
  std::string host;
  std::string user;
  std::string label;
};

// Derives the wrapping key (slow: about 0.1-0.3 s at the default cost).
Bytes EncodeKeySlot(const MasterKeys& keys, ByteView passphrase,
                    const KeySlotInfo& info,
                    const crypto::ScryptParams& params = {});

// Reads the clear fields without a passphrase.
Result<KeySlotInfo> DecodeKeySlotInfo(ByteView data);

// kAuthFailed if the passphrase is wrong (the tag does not verify),
// kCorruption if malformed, kUnsupportedVersion if newer.
Result<MasterKeys> OpenKeySlot(ByteView data, ByteView passphrase);

}  // namespace coffre::format
