// VaultConfig: the settings of a vault node, read from DATA/vault.toml
// (written with comments by `coffre-vault init`; every key is optional and
// documented in docs/vault.md). Command-line options override the file.
// Thread-safety: a plain value.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/status.h"

namespace coffre::vault {

struct VaultConfig {
  std::string data_dir;            // the folder given with --data
  std::string listen = "127.0.0.1:8443";  // HOST:PORT; port 0 picks a free one
  std::string tls_cert;            // PEM; default DATA/tls/cert.pem
  std::string tls_key;             // PEM; default DATA/tls/key.pem
  std::string audit_log;           // default DATA/audit.log
  uint64_t max_object_bytes = 256ull << 20;
  int threads = 32;                // requests served at once
  std::string metrics_token;       // "" : /metrics only from loopback
};

// The config of the vault in `data_dir`: defaults, then DATA/vault.toml if it
// exists (kInvalidArgument naming the key and line for a bad value or an
// unknown key; kCorruption if the file does not parse).
Result<VaultConfig> LoadVaultConfig(const std::string& data_dir);

// The commented vault.toml that `init` writes: every key, its default, and
// what it does.
std::string DefaultVaultToml();

// "HOST:PORT" -> host and port (0..65535); kInvalidArgument otherwise.
Status ParseListen(const std::string& listen, std::string* host, int* port);

}  // namespace coffre::vault
