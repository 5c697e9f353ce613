// TlsContext: the vault's TLS server settings and certificate. It allows
// TLS 1.2 and 1.3 only, and on TLS 1.2 only forward-secret AEAD suites
// (ECDHE with AES-GCM or ChaCha20-Poly1305: no CBC, no RSA key exchange,
// no compression, no renegotiation). The certificate and key are re-read
// when either file changes, so an operator (or certbot) can swap them
// without a restart; connections already open keep the pair they began with.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/base/status.h"

namespace coffre::vault {

class TlsContext {
 public:
  // The settings above with the PEM chain `cert_file` and key `key_file`.
  // kInvalidArgument naming the files if they do not load or do not match.
  static Result<std::unique_ptr<TlsContext>> Load(const std::string& cert_file,
                                                  const std::string& key_file);

  // The context for a new connection; never null. The caller's reference
  // keeps it alive across a reload.
  std::shared_ptr<SSL_CTX> Current() const;

  // Re-reads the pair if a file's modification time or size changed since
  // the last load, at most once per `min_interval_ms`. true if a new pair is
  // now in use. A pair that does not load (a half-written file) keeps the
  // old one and is tried again next time; its error is returned once.
  Result<bool> ReloadIfChanged(int64_t min_interval_ms = 1000);

 private:
  TlsContext(std::string cert_file, std::string key_file)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}
  // The files' modification times and sizes, as one comparable string.
  std::string Stamp() const;

  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_;  // guarded by mu_
  std::string stamp_;             // guarded by mu_: of the pair in ctx_
  std::string failed_stamp_;      // guarded by mu_: last pair that failed
  int64_t last_check_ns_ = 0;     // guarded by mu_
};

}  // namespace coffre::vault
