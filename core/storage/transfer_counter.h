// TransferCounter: what crossed the line between agent and vault during a
// run: request count and body bytes each way, counted by the backend that
// talks to the network (VaultBackend) as the bytes go, retries included.
// HTTP headers and TLS framing are not in the byte counts (about a
// kilobyte a request); `requests` tells how much they add.
// Thread-safety: atomics; shared by every connection of a backend.
#pragma once

#include <atomic>
#include <cstdint>

namespace coffre::storage {

struct TransferCounter {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> sent_bytes{0};      // request bodies: packs, indexes, snapshots
  std::atomic<uint64_t> received_bytes{0};  // response bodies: objects, listings
};

}  // namespace coffre::storage
