// VaultBackend: a repository kept on a coffre-vault, reached over HTTPS
// (docs/vault-api.md), seen by the rest of the agent as a storage::Backend.
// It holds a small pool of kept-alive connections, so several threads
// upload and download at once without a TLS handshake per request.
//
// Errors follow the Backend contract and the table both sides share
// (core/storage/http_status.h), with the vault's one-line reason: no answer,
// a reset, a 503 or a proxy's 502/504 is kUnavailable (retried by
// RetryingBackend, wrapped around it by OpenBackend); a 500 (the vault's
// disk failed) is kIo and a 422 kCorruption, neither retried; 404
// kNotFound, 507 kNoSpace, 401 and 403 kAuthFailed (a token that may not do
// this is, for the agent, a credentials problem). An untrusted certificate
// is kAuthFailed, naming --cacert.
// Timeouts follow progress, never the whole request: a call fails when the
// socket makes no progress for timeout_seconds (connecting, sending or
// receiving), however long a pack takes on a slow line. A download whose
// connection breaks after some of the body came resumes with a Range from
// the first missing byte; an upload starts again (the API has no partial
// upload), through RetryingBackend.
// Several nodes (a URL list): requests go to one node; a request that gets
// no answer from it (refused, reset, timed out) fails with kUnavailable and
// moves every later request to the next node, so RetryingBackend's retry
// goes there. A backup whose node dies goes on through the others.
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <atomic>
#include <vector>

#include <memory>
#include <string>

#include "core/storage/backend.h"
#include "core/storage/transfer_counter.h"

namespace coffre::storage::vault {

// The parts of https://HOST:PORT/TENANT/REPO; of several such URLs joined
// with ',' (vault nodes sharing one store), `host` and `port` are the
// first's and `nodes` holds every node in order.
struct VaultUrl {
  struct Node {
    std::string host;
    int port = 443;
  };
  std::string host;
  int port = 443;
  std::string tenant;
  std::string repo;
  std::vector<Node> nodes;  // at least the first; empty in a hand-made VaultUrl
  std::string ToString() const;
};

// kInvalidArgument unless `url` is https://HOST[:PORT]/TENANT/REPO (HOST a
// name, an IPv4 address or [IPv6]), or several of them joined with ',' that
// all name the same TENANT/REPO.
Result<VaultUrl> ParseVaultUrl(const std::string& url);

struct VaultOptions {
  std::string token;    // "cvt_..."
  std::string ca_file;  // PEM bundle to trust; "": the system's CAs
  int timeout_seconds = 60;
  size_t max_connections = 8;
  // Where requests and body bytes are counted, if set.
  std::shared_ptr<storage::TransferCounter> transfer;
};

class VaultBackend : public storage::Backend {
 public:
  // Connects to the repository; kNotFound "no repository ..." if the vault
  // has none at that path (the caller offers `init`).
  static Result<std::unique_ptr<VaultBackend>> Open(const VaultUrl& url,
                                                    const VaultOptions& options);
  // Asks the vault to create the repository; kAlreadyExists if it has one.
  static Result<std::unique_ptr<VaultBackend>> Create(const VaultUrl& url,
                                                      const VaultOptions& options);
  ~VaultBackend() override;

  // Where the vault says it stores (its health answer's "location", "" if
  // it declares none): what a replicating vault checks a tenant's
  // placement against before it sends a byte.
  static Result<std::string> StorageLocation(const VaultUrl& url, const VaultOptions& options);

  Status Save(const storage::ObjectName& object, ByteView data) override;
  Result<Bytes> Load(const storage::ObjectName& object, uint64_t offset,
                     uint64_t length) override;
  Result<uint64_t> Stat(const storage::ObjectName& object) override;
  Status Remove(const storage::ObjectName& object) override;
  Status List(storage::ObjectKind kind,
              const std::function<Status(const storage::ObjectInfo&)>& fn) override;
  // Uploads in flight: each waits on the network and the vault's disk.
  size_t ParallelWrites() const override { return 4; }
  // Restore reads in flight: enough to fill a line whose round trips are
  // long, within the connection pool.
  size_t ParallelReads() const override { return 8; }
  // Neighbouring blobs come in one ranged GET (Repository's read cache).
  uint64_t ReadAheadBytes() const override { return 4 << 20; }
  std::string Location() const override { return url_.ToString(); }

 private:
  class Pool;
  class Lease;
  VaultBackend(VaultUrl url, VaultOptions options);
  // A kept-alive connection for one request, returned to the pool by Lease.
  Lease Acquire();
  void CountSent(uint64_t n);
  void CountReceived(uint64_t n);
  std::string RepoPath() const;
  std::string ObjectPath(const storage::ObjectName& object) const;

  const VaultUrl url_;
  const VaultOptions options_;
  // One pool per node; requests go to pools_[current_].
  std::vector<std::unique_ptr<Pool>> pools_;
  std::atomic<size_t> current_{0};
};

}  // namespace coffre::storage::vault
