#include "core/crypto/self_signed.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

namespace coffre::crypto {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

X509Ptr LoadCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

PkeyPtr LoadKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

// Verifies `cert` the way a TLS client that pins it (--cacert) does: as its
// own trust anchor, for the TLS server purpose, against a host or an IP.
int VerifyPinned(X509* cert, const char* host, const char* ip) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, cert);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (host != nullptr) X509_VERIFY_PARAM_set1_host(param, host, 0);
  if (ip != nullptr) X509_VERIFY_PARAM_set1_ip_asc(param, ip);
  int ok = X509_verify_cert(ctx);
  int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok == 1 ? X509_V_OK : (err == X509_V_OK ? -1 : err);
}

TEST_CASE("self-signed certificate loads back, matches its key and verifies itself",
          "[unit][crypto]") {
  auto pem = MakeSelfSignedCertificate("coffre-vault",
                                       {"localhost", "127.0.0.1", "::1", "vault.example.fr"});
  REQUIRE(pem);
  CHECK(pem->certificate.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(pem->private_key.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);

  X509Ptr cert = LoadCert(pem->certificate);
  PkeyPtr key = LoadKey(pem->private_key);
  REQUIRE(cert);
  REQUIRE(key);
  CHECK(X509_check_private_key(cert.get(), key.get()) == 1);
  CHECK(EVP_PKEY_is_a(key.get(), "EC"));
  CHECK(EVP_PKEY_get_bits(key.get()) == 256);
  CHECK(X509_get_version(cert.get()) == X509_VERSION_3);
  CHECK(X509_get_signature_nid(cert.get()) == NID_ecdsa_with_SHA256);

  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  REQUIRE(pub != nullptr);
  CHECK(X509_verify(cert.get(), pub) == 1);

  // The names become SANs of the right type: an address only matches an IP
  // SAN, a host name only a DNS SAN.
  CHECK(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(cert.get(), "vault.example.fr", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(cert.get(), "other.example.fr", 0, 0, nullptr) == 0);
  CHECK(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
  CHECK(X509_check_ip_asc(cert.get(), "::1", 0) == 1);
  CHECK(X509_check_ip_asc(cert.get(), "127.0.0.2", 0) == 0);
  CHECK(X509_check_host(cert.get(), "127.0.0.1", 0, 0, nullptr) == 0);

  // An agent that pins the certificate accepts it for these names only.
  CHECK(VerifyPinned(cert.get(), "vault.example.fr", nullptr) == X509_V_OK);
  CHECK(VerifyPinned(cert.get(), nullptr, "127.0.0.1") == X509_V_OK);
  CHECK(VerifyPinned(cert.get(), "evil.example", nullptr) == X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST_CASE("self-signed certificate is valid from an hour ago for ten years", "[unit][crypto]") {
  auto pem = MakeSelfSignedCertificate("coffre-vault", {"localhost"});
  REQUIRE(pem);
  X509Ptr cert = LoadCert(pem->certificate);
  REQUIRE(cert);
  int days = 0, secs = 0;
  // From now to notBefore: about -1 hour.
  REQUIRE(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notBefore(cert.get())) == 1);
  CHECK(days == 0);
  CHECK(secs <= -3590);
  CHECK(secs >= -3610);
  REQUIRE(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert.get())) == 1);
  CHECK(days >= 3652);
  CHECK(days <= 3653);

  // Subject CN, and issuer == subject.
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof(cn));
  CHECK(std::string(cn) == "coffre-vault");
  CHECK(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())) == 0);
}

TEST_CASE("two self-signed certificates have different keys and serials", "[unit][crypto]") {
  auto a = MakeSelfSignedCertificate("coffre-vault", {"localhost"});
  auto b = MakeSelfSignedCertificate("coffre-vault", {"localhost"});
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->private_key != b->private_key);
  X509Ptr ca = LoadCert(a->certificate), cb = LoadCert(b->certificate);
  REQUIRE(ca);
  REQUIRE(cb);
  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca.get()), X509_get0_serialNumber(cb.get())) != 0);
  // Each certificate's signature checks only under its own key.
  CHECK(X509_verify(ca.get(), X509_get0_pubkey(cb.get())) != 1);
  ERR_clear_error();  // the refused verify left its reason queued
}

}  // namespace
}  // namespace coffre::crypto
