#include "core/crypto/self_signed.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "core/crypto/random.h"

namespace coffre::crypto {
namespace {

// Every OpenSSL object is owned by a unique_ptr from the moment it exists,
// so each early return frees what was built so far.
template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
template <typename T, void (*F)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, F>>;

using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = Owned<X509, X509_free>;
using BioPtr = Owned<BIO, BIO_free_all>;
using BnPtr = Owned<BIGNUM, BN_free>;
using GeneralNamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
using GeneralNamePtr = Owned<GENERAL_NAME, GENERAL_NAME_free>;
using OctetPtr = Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using Ia5Ptr = Owned<ASN1_IA5STRING, ASN1_IA5STRING_free>;
using ExtPtr = Owned<X509_EXTENSION, X509_EXTENSION_free>;

constexpr long kOneHour = 60 * 60;
constexpr int kValidDays = 3653;  // ten years, leap days included

Status OpenSslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  char buf[256] = "no detail";
  if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return InternalError("self-signed certificate: " + what + " failed (" + buf + ")");
}

// An IP SAN when the name parses as an address, a DNS SAN otherwise: TLS
// clients match an address only against IP SANs (RFC 6125).
Result<GeneralNamePtr> MakeGeneralName(const std::string& name) {
  unsigned char addr[16];
  int len = 0;
  if (inet_pton(AF_INET, name.c_str(), addr) == 1) {
    len = 4;
  } else if (inet_pton(AF_INET6, name.c_str(), addr) == 1) {
    len = 16;
  }
  GeneralNamePtr gn(GENERAL_NAME_new());
  if (!gn) return Err(OpenSslError("GENERAL_NAME_new"));
  if (len != 0) {
    OctetPtr ip(ASN1_OCTET_STRING_new());
    if (!ip || ASN1_OCTET_STRING_set(ip.get(), addr, len) != 1) {
      return Err(OpenSslError("IP address SAN"));
    }
    GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, ip.release());
  } else {
    Ia5Ptr dns(ASN1_IA5STRING_new());
    if (!dns || ASN1_STRING_set(dns.get(), name.data(), static_cast<int>(name.size())) != 1) {
      return Err(OpenSslError("DNS SAN"));
    }
    GENERAL_NAME_set0_value(gn.get(), GEN_DNS, dns.release());
  }
  return gn;
}

Status AddSubjectAltNames(X509* cert, const std::vector<std::string>& names) {
  if (names.empty()) return Status::Ok();
  GeneralNamesPtr gens(sk_GENERAL_NAME_new_null());
  if (!gens) return OpenSslError("sk_GENERAL_NAME_new_null");
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(GeneralNamePtr gn, MakeGeneralName(name));
    if (sk_GENERAL_NAME_push(gens.get(), gn.get()) == 0) return OpenSslError("SAN push");
    gn.release();  // now owned by the stack
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError("add subjectAltName");
  }
  return Status::Ok();
}

// The extensions that make the certificate a server leaf. No keyUsage:
// extendedKeyUsage already limits the key to TLS servers, and a certificate
// that agents pin as its own trust anchor (--cacert) is safest with the
// fewest constraints for a client's checks to disagree on.
Status AddLeafExtensions(X509* cert) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  const std::pair<int, const char*> exts[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
  };
  for (const auto& [nid, value] : exts) {
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError(OBJ_nid2sn(nid));
  }
  return Status::Ok();
}

// A random positive 128-bit serial: RFC 5280 asks for unique serials, and
// two vaults that each make a certificate must not collide.
Status SetRandomSerial(X509* cert) {
  Bytes serial = RandomBytes(16);
  serial[0] = static_cast<uint8_t>((serial[0] & 0x7f) | 0x40);  // positive, never zero
  BnPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return OpenSslError("serial number");
  }
  return Status::Ok();
}

Result<std::string> DrainBio(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return Err(OpenSslError("PEM output"));
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

Result<CertificatePem> MakeSelfSignedCertificate(const std::string& common_name,
                                                 const std::vector<std::string>& names) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Err(OpenSslError("EC P-256 key generation"));

  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return Err(OpenSslError("X509_new"));
  }
  RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kOneHour) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), kValidDays, 0, nullptr) == nullptr) {
    return Err(OpenSslError("validity"));
  }
  // Subject and issuer are the same name: the certificate signs itself.
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), subject) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return Err(OpenSslError("subject"));
  }
  RETURN_IF_ERROR(AddLeafExtensions(cert.get()));
  RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), names));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return Err(OpenSslError("X509_sign"));

  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_secmem()));  // wiped when freed
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return Err(OpenSslError("PEM encoding"));
  }
  CertificatePem out;
  ASSIGN_OR_RETURN(out.certificate, DrainBio(cert_bio.get()));
  ASSIGN_OR_RETURN(out.private_key, DrainBio(key_bio.get()));
  return out;
}

}  // namespace coffre::crypto
