#include "agent/util/malloc_tuning.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace coffre {

bool ShouldTuneMalloc(const char* glibc_tunables) {
  return glibc_tunables == nullptr ||
         std::strstr(glibc_tunables, "glibc.malloc.mmap_threshold") == nullptr;
}

void TuneMallocForLargeBuffers() {
  if (!ShouldTuneMalloc(std::getenv("GLIBC_TUNABLES"))) return;
  // Setting the threshold also turns off glibc's dynamic adjustment of it.
  mallopt(M_MMAP_THRESHOLD, kLargeBufferThreshold);
}

}  // namespace coffre
