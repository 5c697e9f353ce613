// GuardedServer: cpp-httplib's HTTP server with the vault's own TLS
// connection loop, so that no client can hold the vault by being slow or
// silent (docs/vault.md, "Connections and timeouts").
//
// cpp-httplib 0.11.4 gives each connection a worker for its whole life and
// only per-read idle timeouts, so 32 silent TCP connections stopped the
// vault. Here instead:
// - workers are started on demand (GrowingTaskQueue) up to max_connections,
//   past which a new connection is closed at once;
// - every phase has a deadline of its own, for the whole phase, not per
//   read: the TLS handshake, the request line and headers (also capped in
//   bytes and lines), the body, and the keep-alive wait between requests;
// - a handler may refuse a request without reading its body: it calls
//   CloseAfterResponse, and the connection closes once the answer is sent.
// The TLS pair comes from a TlsContext, so a reloaded certificate serves
// the next connection.
//
// Thread-safety: as httplib::Server; CloseAfterResponse and the counters
// may be called from any handler.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "vault/api/tls_context.h"

namespace coffre::vault {

struct ConnectionLimits {
  int min_threads = 32;        // workers kept ready
  int max_connections = 1024;  // open at once; more are closed at once
  int64_t handshake_timeout_ms = 10'000;  // TCP accept to the end of the TLS handshake
  int64_t header_timeout_ms = 10'000;     // a request's first byte to its last header
  int64_t body_timeout_ms = 900'000;      // the whole body of one request
  int64_t idle_timeout_ms = 5'000;        // kept alive, waiting for the next request
  int64_t io_timeout_ms = 60'000;         // one read or write that makes no progress
  size_t max_header_bytes = 64 << 10;     // request line and headers, together
  size_t max_header_lines = 100;          // header lines of one request
};

class GuardedServer : public httplib::Server {
 public:
  // Why a connection was cut, for metrics: "handshake_timeout",
  // "header_timeout", "body_timeout", "header_too_large",
  // "too_many_connections", "handshake_failed".
  using CutCounter = std::function<void(const char* reason)>;

  // `tls` outlives the server.
  GuardedServer(TlsContext* tls, ConnectionLimits limits, CutCounter count_cut);

  // From inside a handler: the connection closes as soon as this request's
  // response is written, whether or not its body was read, so that a
  // refused upload is never read to its end. Adds "Connection: close".
  static void CloseAfterResponse(httplib::Response& res);

  // After bind: a listen backlog of `backlog` instead of cpp-httplib's
  // compiled-in 5, so that a burst of connections does not drop the SYN of
  // an honest client (a retry costs it a second or more).
  void WidenBacklog(int backlog);

  int open_connections() const { return open_.load(); }

 private:
  bool process_and_close_socket(socket_t sock) override;
  void Serve(socket_t sock);

  TlsContext* const tls_;
  const ConnectionLimits limits_;
  const CutCounter count_cut_;
  std::atomic<int> open_{0};
};

}  // namespace coffre::vault
