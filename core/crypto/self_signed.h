// A self-signed TLS certificate for a vault node that was given none: an
// ECDSA P-256 key and an X.509 v3 certificate valid ten years, with the
// subject alternative names given (DNS names and IP addresses), so agents
// can pin it with --cacert.
// Thread-safety: free function.
#pragma once

#include <string>
#include <vector>

#include "core/base/status.h"

namespace coffre::crypto {

struct CertificatePem {
  std::string certificate;  // "-----BEGIN CERTIFICATE-----..."
  std::string private_key;  // PKCS#8 "-----BEGIN PRIVATE KEY-----..."
};

// `common_name` e.g. "coffre-vault"; `names`: "localhost", "127.0.0.1",
// "vault.example.fr" (an entry that parses as an IPv4/IPv6 address becomes
// an IP SAN, any other a DNS SAN). kInternal if OpenSSL fails.
Result<CertificatePem> MakeSelfSignedCertificate(const std::string& common_name,
                                                 const std::vector<std::string>& names);

}  // namespace coffre::crypto
