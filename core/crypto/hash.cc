#include "core/crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstdlib>

namespace coffre::crypto {
namespace {

// OpenSSL failing on SHA-256 means a broken library or out of memory: there
// is no sensible way to continue hashing, and a wrong digest would be worse.
[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "coffre: OpenSSL failure in %s\n", what);
  std::abort();
}

// Fetched once: an implicit fetch per call costs a provider lookup.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) Fatal("EVP_MD_fetch(SHA256)");
    return m;
  }();
  return md;
}

EVP_MAC* HmacMac() {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (m == nullptr) Fatal("EVP_MAC_fetch(HMAC)");
    return m;
  }();
  return mac;
}

}  // namespace

Digest Sha256(ByteView data) {
  Digest out;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, Sha256Md(),
                 nullptr) != 1 ||
      len != out.size()) {
    Fatal("EVP_Digest");
  }
  return out;
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  // Lengths are not secret (a digest is always 32 bytes); only the content
  // comparison must not stop at the first differing byte.
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct Sha256Stream::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, Sha256Md(), nullptr) != 1) {
    Fatal("EVP_DigestInit_ex");
  }
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256Stream::Update(ByteView data) {
  if (EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) != 1) {
    Fatal("EVP_DigestUpdate");
  }
}

Digest Sha256Stream::Finish() {
  Digest out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) != 1 || len != out.size() ||
      EVP_DigestInit_ex(impl_->ctx, Sha256Md(), nullptr) != 1) {
    Fatal("EVP_DigestFinal_ex");
  }
  return out;
}

// The key schedule (ipad/opad blocks) is computed once in the constructor;
// each Compute re-initialises the same context with a null key, which
// OpenSSL 3 defines as "restart with the key already set".
struct HmacSha256::Impl {
  EVP_MAC_CTX* ctx = nullptr;
};

HmacSha256::HmacSha256(ByteView key) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MAC_CTX_new(HmacMac());
  if (impl_->ctx == nullptr) Fatal("EVP_MAC_CTX_new");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  // A zero-length key is legal HMAC; OpenSSL wants a non-null pointer.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmpty : key.data();
  if (EVP_MAC_init(impl_->ctx, key_ptr, key.size(), params) != 1) {
    Fatal("EVP_MAC_init");
  }
}

HmacSha256::~HmacSha256() { EVP_MAC_CTX_free(impl_->ctx); }

Digest HmacSha256::Compute(ByteView data) {
  Digest out;
  size_t len = 0;
  if (EVP_MAC_init(impl_->ctx, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(impl_->ctx, data.data(), data.size()) != 1 ||
      EVP_MAC_final(impl_->ctx, out.data(), &len, out.size()) != 1 ||
      len != out.size()) {
    Fatal("HMAC-SHA-256");
  }
  return out;
}

}  // namespace coffre::crypto
