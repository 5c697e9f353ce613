// VaultConfig: the settings of a vault node, read from DATA/vault.toml
// (written with comments by `coffre-vault init`; every key is optional and
// documented in docs/vault.md). Command-line options override the file.
// Thread-safety: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "core/base/status.h"

namespace coffre::vault {

// Where the repositories are stored ([storage] in vault.toml).
struct StorageConfig {
  enum class Type { kLocal, kS3 };
  Type type = Type::kLocal;  // kLocal: folders under DATA/repos
  // kS3: one bucket, shared by every vault node (docs/vault.md, "Storage").
  std::string endpoint;  // "http://127.0.0.1:7480", "https://s3.example.fr"
  std::string region = "default";
  std::string bucket;
  std::string prefix;  // under which this vault's repositories live
  bool virtual_hosted = false;
  std::string ca_file;  // "": the system's CAs
  // The credentials, first found wins: access_key/secret_key here, then
  // credentials_file (COFFRE_S3_ACCESS_KEY=... and COFFRE_S3_SECRET_KEY=...
  // lines), then those two variables of the environment (S3Credentials).
  std::string access_key;
  std::string secret_key;
  std::string credentials_file;
};

// Where the state the nodes must agree on is kept: tenants, tokens, usage
// and the audit trail ([state] in vault.toml; docs/state.md).
struct StateConfig {
  enum class Type { kFiles, kPostgres };
  Type type = Type::kFiles;  // kFiles: DATA/tenants.json and the audit_log file
  // kPostgres: a libpq connection string ("host=... dbname=... user=...
  // passfile=..."), shared by every node of a fleet. Never logged.
  std::string conninfo;
  int connections = 8;  // at most this many open at once
};

struct VaultConfig {
  std::string data_dir;            // the folder given with --data
  std::string listen = "127.0.0.1:8443";  // HOST:PORT; port 0 picks a free one
  std::string tls_cert;            // PEM; default DATA/tls/cert.pem
  std::string tls_key;             // PEM; default DATA/tls/key.pem
  std::string audit_log;           // default DATA/audit.log
  uint64_t max_object_bytes = 256ull << 20;
  int threads = 32;                // workers kept ready; more start on demand
  // Connections and their deadlines (docs/vault.md, "Connections and
  // timeouts"); each phase's deadline bounds the whole phase.
  int max_connections = 1024;       // open at once; more are closed at once
  int64_t handshake_timeout_s = 10;  // accept to the end of the TLS handshake
  int64_t header_timeout_s = 10;     // a request's first byte to its last header
  int64_t body_timeout_s = 900;      // one request's whole body
  int64_t idle_timeout_s = 5;        // kept alive between requests
  int64_t io_timeout_s = 60;         // one read or write with no progress
  uint64_t max_header_bytes = 64 << 10;  // request line and headers together
  int max_headers = 100;             // header lines of one request
  uint64_t max_list_page = 10000;    // names one listing request answers
  // Failed authentications before tokens are no longer checked for a while
  // (docs/vault-api.md, "Failed authentications"); 0 turns a limit off.
  int auth_failures_per_address = 20;
  int auth_failures_per_tenant = 100;
  int64_t auth_failure_window_s = 60;  // each bucket refills over this time
  // How often `serve` removes what a deletion hold no longer keeps
  // (HeldStore::PurgeAll); 0: never (`coffre-vault held purge` does).
  int64_t hold_purge_interval_s = 3600;
  std::string metrics_token;       // "" : /metrics only from loopback
  std::string node_name;            // "" : the host's name (NodeName)
  std::string location;             // "fr-par"...; "" : none (docs/sovereignty.md)
  StorageConfig storage;
  StateConfig state;
};

// The node's name as the audit trail records it: node_name, or the host's.
std::string NodeName(const VaultConfig& config);

// The config of the vault in `data_dir`: defaults, then DATA/vault.toml if it
// exists (kInvalidArgument naming the key and line for a bad value or an
// unknown key; kCorruption if the file does not parse).
Result<VaultConfig> LoadVaultConfig(const std::string& data_dir);

// The commented vault.toml that `init` writes: every key, its default, and
// what it does.
std::string DefaultVaultToml();

// The S3 access key and secret of `storage`, found as StorageConfig says;
// kInvalidArgument naming where they were looked for if none has both, or
// naming the credentials file if it cannot be read. Never quotes a secret.
Result<std::pair<std::string, std::string>> S3Credentials(const StorageConfig& storage);

// "HOST:PORT" -> host and port (0..65535); kInvalidArgument otherwise.
Status ParseListen(const std::string& listen, std::string* host, int* port);

}  // namespace coffre::vault
