// The API token format, shared by every registry: "cvt_" + 16 hex digits
// (the token's id, 8 random bytes) + "_" + 64 hex digits (its secret, 32
// random bytes). A registry stores only SHA-256 of the secret's 64 hex
// characters, so an operator can check one with `printf %s SECRET |
// sha256sum`, and compares it in constant time.
// Thread-safety: free functions.
#pragma once

#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/crypto/hash.h"

namespace coffre::vault {

inline constexpr size_t kTokenIdHexLen = 16;

// A token just made: the whole token (shown once), its id and the hash kept.
struct NewToken {
  std::string token;
  std::string id;
  crypto::Digest secret_hash{};
};
NewToken MakeToken();

// A presented token split into its id and the hash of its secret;
// kAuthFailed "invalid token" if it is not of the format.
struct PresentedToken {
  std::string id;
  crypto::Digest secret_hash{};
};
Result<PresentedToken> ParseToken(std::string_view token);

// True for a token id: 16 lowercase hex digits.
bool IsTokenId(std::string_view id);
// True for a stored hash: 64 lowercase hex digits.
bool IsSecretHashHex(std::string_view hex);

}  // namespace coffre::vault
