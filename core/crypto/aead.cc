#include "core/crypto/aead.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "core/base/encoding.h"

namespace coffre::crypto {
namespace {

[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "coffre: OpenSSL failure in %s\n", what);
  std::abort();
}

// Fetched once for the process; EVP_CIPHER and EVP_KDF objects are immutable
// and safe to share between threads.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) Fatal("EVP_CIPHER_fetch(AES-256-GCM)");
    return c;
  }();
  return cipher;
}

EVP_KDF* HkdfKdf() {
  static EVP_KDF* kdf = [] {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (k == nullptr) Fatal("EVP_KDF_fetch(HKDF)");
    return k;
  }();
  return kdf;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// 64-bit counter little-endian, then four zero bytes (docs/format/crypto.md).
std::array<uint8_t, Aead::kNonceSize> MakeNonce(uint64_t counter) {
  std::array<uint8_t, Aead::kNonceSize> nonce{};
  StoreU64(nonce.data(), counter);
  return nonce;
}

// EVP takes int lengths; blobs are at most a few MiB, so a larger input is a
// caller bug, not a data error.
int IntLen(size_t n) {
  if (n > static_cast<size_t>(INT_MAX)) Fatal("AEAD input larger than 2 GiB");
  return static_cast<int>(n);
}

CipherCtx NewCtx(const Key& key, uint64_t counter, int enc) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  auto nonce = MakeNonce(counter);
  if (!ctx ||
      EVP_CipherInit_ex2(ctx.get(), Aes256Gcm(), key.data(), nonce.data(), enc,
                         nullptr) != 1) {
    Fatal("EVP_CipherInit_ex2");
  }
  return ctx;
}

}  // namespace

Aead::~Aead() { SecureWipe(key_.data(), key_.size()); }

Bytes Aead::Seal(uint64_t nonce, ByteView plaintext, ByteView aad) const {
  Bytes out;
  SealAppend(nonce, plaintext, aad, &out);
  return out;
}

void Aead::SealAppend(uint64_t nonce, ByteView plaintext, ByteView aad,
                      Bytes* out) const {
  CipherCtx ctx = NewCtx(key_, nonce, 1);
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), IntLen(aad.size())) != 1) {
    Fatal("EVP_EncryptUpdate(aad)");
  }
  size_t start = out->size();
  out->resize(start + plaintext.size() + kTagSize);
  uint8_t* dst = out->data() + start;
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), dst, &len, plaintext.data(),
                          IntLen(plaintext.size())) != 1) {
      Fatal("EVP_EncryptUpdate");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), dst + written, &len) != 1) {
    Fatal("EVP_EncryptFinal_ex");
  }
  written += len;
  if (static_cast<size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                          dst + written) != 1) {
    Fatal("EVP_CTRL_GCM_GET_TAG");
  }
}

Result<Bytes> Aead::Open(uint64_t nonce, ByteView sealed, ByteView aad) const {
  if (sealed.size() < kTagSize) {
    return Err(CorruptionError("sealed data shorter than its tag"));
  }
  size_t ct_len = sealed.size() - kTagSize;
  CipherCtx ctx = NewCtx(key_, nonce, 0);
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), IntLen(aad.size())) != 1) {
    Fatal("EVP_DecryptUpdate(aad)");
  }
  Bytes plain(ct_len);
  int written = 0;
  if (ct_len > 0) {
    if (EVP_DecryptUpdate(ctx.get(), plain.data(), &len, sealed.data(),
                          IntLen(ct_len)) != 1) {
      Fatal("EVP_DecryptUpdate");
    }
    written = len;
  }
  // OpenSSL's GCM takes the expected tag through a non-const pointer.
  std::array<uint8_t, kTagSize> tag;
  std::copy(sealed.end() - kTagSize, sealed.end(), tag.begin());
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1) {
    Fatal("EVP_CTRL_GCM_SET_TAG");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + written, &len) != 1) {
    // Do not hand out unauthenticated plaintext, even by accident.
    SecureWipe(plain.data(), plain.size());
    return Err(CorruptionError("authentication tag mismatch"));
  }
  return plain;
}

Key Hkdf(ByteView ikm, ByteView salt, ByteView info) {
  struct KdfCtxFree {
    void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(HkdfKdf()));
  if (!ctx) Fatal("EVP_KDF_CTX_new");
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads them. Empty
  // octet strings still need a valid pointer.
  static uint8_t empty = 0;
  auto ptr = [](ByteView v) {
    return v.empty() ? &empty : const_cast<uint8_t*>(v.data());
  };
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ptr(ikm), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, ptr(salt), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ptr(info), info.size()),
      OSSL_PARAM_construct_end(),
  };
  Key out;
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    Fatal("EVP_KDF_derive(HKDF)");
  }
  return out;
}

Result<Key> Scrypt(ByteView passphrase, ByteView salt, const ScryptParams& params) {
  const uint64_t n = params.n, r = params.r, p = params.p;
  if (n < 2 || (n & (n - 1)) != 0) {
    return Err(InvalidArgumentError("scrypt N must be a power of two >= 2"));
  }
  if (r == 0 || p == 0) return Err(InvalidArgumentError("scrypt r and p must be >= 1"));
  // RFC 7914 needs r * p < 2^30; r <= 2^23 and n <= 2^40 keep the products
  // below in range of uint64_t.
  constexpr uint64_t kMaxMemory = uint64_t{1} << 30;
  if (r * p >= (uint64_t{1} << 30) || r > (uint64_t{1} << 23) ||
      n > (uint64_t{1} << 40) || 128 * r * n > kMaxMemory) {
    return Err(InvalidArgumentError("scrypt parameters need more than 1 GiB"));
  }
  // What OpenSSL allocates: V (128 r (N + 2)) and B (128 r p).
  uint64_t maxmem = 128 * r * (n + 2) + 128 * r * p + (1 << 16);
  Key out;
  if (EVP_PBE_scrypt(reinterpret_cast<const char*>(passphrase.data()),
                     passphrase.size(), salt.data(), salt.size(), n, r, p,
                     maxmem, out.data(), out.size()) != 1) {
    return Err(InvalidArgumentError("scrypt rejected its parameters"));
  }
  return out;
}

}  // namespace coffre::crypto
