// Config: the one object every reader opens first. It is stored in clear so a
// reader can refuse a newer format before asking for a passphrase, and carries
// an HMAC (under the id key) checked once the keys are open, so it cannot be
// altered unnoticed. Layout (docs/format/config.md):
//   "CFCF" | version u8 | repo_id[16] | created svarint | chunker min, avg,
//   max (varints) | compression level u8 | hmac[32]
// Thread-safety: values.
#pragma once

#include <array>
#include <cstdint>

#include "core/chunker/fastcdc.h"
#include "core/crypto/aead.h"

namespace coffre::format {

// The newest repository format this build reads and writes. Version 2 adds
// one promise to version 1 and nothing else: every pack holds blobs of one
// type only (trees apart from file data), so reading a snapshot's trees
// never downloads file data and tree packs can be cached whole. Version 1
// repositories are read as they are, and stay version 1.
inline constexpr uint8_t kRepositoryVersion = 2;
// From this version on, a pack never mixes trees and file data.
inline constexpr uint8_t kSeparateTreePacksVersion = 2;

struct Config {
  uint8_t version = kRepositoryVersion;
  std::array<uint8_t, 16> repo_id{};
  int64_t created_ns = 0;
  chunker::Params chunker;
  uint8_t compression_level = 3;  // default for backups
};

Bytes EncodeConfig(const Config& config, const crypto::Key& id_key);

// Parses without a key: kCorruption if malformed, kUnsupportedVersion (with a
// message naming both versions) if newer than kRepositoryVersion.
Result<Config> DecodeConfig(ByteView data);
// After the keys are open: kCorruption if the HMAC does not match.
Status VerifyConfig(ByteView data, const crypto::Key& id_key);

}  // namespace coffre::format
