#include "vault/api/tls_context.h"

#include <openssl/err.h>
#include <sys/stat.h>

#include "core/base/clock.h"

namespace coffre::vault {
namespace {

// TLS 1.2 suites with forward secrecy and an AEAD, strongest first. TLS 1.3
// suites are all AEAD with ephemeral keys; OpenSSL's default set is kept.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Result<std::shared_ptr<SSL_CTX>> NewContext(const std::string& cert, const std::string& key) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Err(InternalError("SSL_CTX_new: " + OpenSslError()));
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // Writes over a non-blocking socket are retried with the same piece.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1)
    return Err(InternalError("TLS 1.2 cipher list: " + OpenSslError()));
  const std::string what = "cannot load the TLS certificate " + cert + " and key " + key + ": ";
  if (SSL_CTX_use_certificate_chain_file(c, cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(c) != 1) {
    return Err(InvalidArgumentError(what + OpenSslError()));
  }
  return ctx;
}

}  // namespace

Result<std::unique_ptr<TlsContext>> TlsContext::Load(const std::string& cert_file,
                                                     const std::string& key_file) {
  std::unique_ptr<TlsContext> tls(new TlsContext(cert_file, key_file));
  tls->stamp_ = tls->Stamp();
  ASSIGN_OR_RETURN(tls->ctx_, NewContext(cert_file, key_file));
  tls->last_check_ns_ = MonotonicNs();
  return tls;
}

std::shared_ptr<SSL_CTX> TlsContext::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ctx_;
}

std::string TlsContext::Stamp() const {
  std::string stamp;
  for (const std::string* file : {&cert_file_, &key_file_}) {
    struct stat st;
    if (::stat(file->c_str(), &st) != 0) return "missing";
    stamp += std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
             std::to_string(st.st_size) + ";";
  }
  return stamp;
}

Result<bool> TlsContext::ReloadIfChanged(int64_t min_interval_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = MonotonicNs();
  if (now - last_check_ns_ < min_interval_ms * 1'000'000) return false;
  last_check_ns_ = now;
  const std::string stamp = Stamp();
  if (stamp == stamp_ || stamp == "missing") return false;
  auto ctx = NewContext(cert_file_, key_file_);
  if (!ctx) {
    // Said once per failing pair, not once a second.
    if (stamp == failed_stamp_) return false;
    failed_stamp_ = stamp;
    return Err(ctx.error());
  }
  ctx_ = std::move(*ctx);
  stamp_ = stamp;
  return true;
}

}  // namespace coffre::vault
