// Seeded, reproducible test data: the same seed gives the same bytes on every
// machine, so known-answer tests can pin cut points and sizes.
#pragma once

#include <cstdint>

#include "core/base/bytes.h"

namespace coffre::testing {

// Uniformly random bytes (incompressible).
Bytes RandomBytes(uint64_t seed, size_t size);
// Text-like bytes drawn from a small vocabulary (compresses about 3:1).
Bytes CompressibleBytes(uint64_t seed, size_t size);

}  // namespace coffre::testing
