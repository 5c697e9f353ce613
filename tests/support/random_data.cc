#include "tests/support/random_data.h"

namespace coffre::testing {

// SplitMix64: tiny, fast, and fully specified, unlike std:: distributions
// whose output may differ between standard libraries.
static uint64_t Next(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Bytes RandomBytes(uint64_t seed, size_t size) {
  Bytes out(size);
  uint64_t state = seed;
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = Next(state);
    for (size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  return out;
}

Bytes CompressibleBytes(uint64_t seed, size_t size) {
  static const char* kWords[] = {"backup ", "restore ", "chunk ", "pack ", "vault ",
                                 "tenant ", "snapshot ", "index ", "tree ", "\n",
                                 "0123 ", "data ", "the ", "of ", "and ", "coffre "};
  Bytes out;
  out.reserve(size);
  uint64_t state = seed;
  while (out.size() < size) {
    const char* w = kWords[Next(state) % 16];
    for (; *w && out.size() < size; ++w) out.push_back(static_cast<uint8_t>(*w));
  }
  return out;
}

}  // namespace coffre::testing
