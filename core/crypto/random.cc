#include "core/crypto/random.h"

#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace coffre::crypto {

void RandomFill(uint8_t* out, size_t size) {
  // RAND_bytes takes an int; large requests are served in slices.
  while (size > 0) {
    int n = size > INT_MAX ? INT_MAX : static_cast<int>(size);
    if (RAND_bytes(out, n) != 1) {
      // A salt or key from a failed RNG could repeat or be guessed; stopping
      // loses nothing that was committed.
      std::fputs("coffre: the system random number generator failed\n", stderr);
      std::abort();
    }
    out += n;
    size -= static_cast<size_t>(n);
  }
}

Bytes RandomBytes(size_t size) {
  Bytes out(size);
  RandomFill(out.data(), out.size());
  return out;
}

}  // namespace coffre::crypto
