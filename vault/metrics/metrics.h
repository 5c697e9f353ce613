// Metrics: the vault's counters, rendered in the Prometheus text format for
// GET /metrics (names and labels in docs/vault-api.md).
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace coffre::vault {

class Metrics {
 public:
  // One request answered: its method ("GET") and HTTP status.
  void CountRequest(const std::string& method, int status);
  void AddBytesReceived(uint64_t n) { bytes_received_ += n; }
  void AddBytesSent(uint64_t n) { bytes_sent_ += n; }
  // kind: "auth", "forbidden", "bad_request", "not_found", "conflict",
  // "quota", "integrity", "storage".
  void CountError(const std::string& kind);
  // A connection cut before its end (GuardedServer's reasons:
  // "header_timeout", "too_many_connections", ...).
  void CountCut(const std::string& reason);

  // What each tenant stores and may store, supplied at render time.
  struct TenantUsage {
    std::string tenant;
    uint64_t stored_bytes = 0;
    uint64_t quota_bytes = 0;  // 0: none (the gauge is then not emitted)
  };
  // The whole exposition, ending with a newline. Label values are escaped.
  std::string Render(const std::vector<TenantUsage>& tenants) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> errors_;
  std::map<std::string, uint64_t> cuts_;
  std::atomic<uint64_t> bytes_received_{0};
  std::atomic<uint64_t> bytes_sent_{0};
};

}  // namespace coffre::vault
