// Repository settings for tests: a cheap KDF (2^10 instead of 2^16) and
// small chunks (4-64 KiB), so a test repository opens in microseconds and
// files of a few hundred KiB make several chunks.
#pragma once

#include "agent/repo/repository.h"

namespace coffre::testing {

inline repo::InitOptions FastInitOptions() {
  repo::InitOptions o;
  o.chunker = {4096, 16384, 65536};
  o.kdf = {1024, 8, 1};
  return o;
}

}  // namespace coffre::testing
