// Cryptographically secure random bytes (OpenSSL RAND_bytes).
// Thread-safe. Aborts the process if the system RNG fails: continuing with
// predictable salts or keys would be worse than stopping.
#pragma once

#include "core/base/bytes.h"

namespace coffre::crypto {

void RandomFill(uint8_t* out, size_t size);
Bytes RandomBytes(size_t size);

}  // namespace coffre::crypto
