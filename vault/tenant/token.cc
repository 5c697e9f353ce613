#include "vault/tenant/token.h"

#include <algorithm>

#include "core/base/bytes.h"
#include "core/crypto/random.h"

namespace coffre::vault {
namespace {

constexpr std::string_view kTokenPrefix = "cvt_";
constexpr size_t kSecretHexLen = 64;

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

bool IsTokenId(std::string_view id) { return id.size() == kTokenIdHexLen && IsLowerHex(id); }
bool IsSecretHashHex(std::string_view hex) {
  return hex.size() == 2 * crypto::Digest{}.size() && IsLowerHex(hex);
}

NewToken MakeToken() {
  NewToken made;
  made.id = HexEncode(crypto::RandomBytes(kTokenIdHexLen / 2));
  const std::string secret = HexEncode(crypto::RandomBytes(kSecretHexLen / 2));
  made.secret_hash = crypto::Sha256(AsBytes(secret));
  made.token = std::string(kTokenPrefix) + made.id + "_" + secret;
  return made;
}

Result<PresentedToken> ParseToken(std::string_view token) {
  // One message for every failure: nothing may tell a guesser which part
  // was wrong.
  constexpr size_t kLen = kTokenPrefix.size() + kTokenIdHexLen + 1 + kSecretHexLen;
  if (token.size() != kLen || token.substr(0, kTokenPrefix.size()) != kTokenPrefix ||
      token[kTokenPrefix.size() + kTokenIdHexLen] != '_') {
    return Err(AuthFailedError("invalid token"));
  }
  std::string_view id = token.substr(kTokenPrefix.size(), kTokenIdHexLen);
  std::string_view secret = token.substr(kTokenPrefix.size() + kTokenIdHexLen + 1);
  if (!IsLowerHex(id) || !IsLowerHex(secret)) return Err(AuthFailedError("invalid token"));
  return PresentedToken{std::string(id), crypto::Sha256(AsBytes(secret))};
}

}  // namespace coffre::vault
