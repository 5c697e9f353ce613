// Shared by the fuzz targets of tests/fuzz (docs/fuzzing.md): the fixed test
// keys that the seed generator seals with, and a check that aborts, so that
// libFuzzer (and the plain replay driver) report a broken promise as a crash.
// Each target defines LLVMFuzzerTestOneInput; it must never crash, hang,
// read out of bounds or allocate without bound, whatever the bytes.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstdint>

#include "core/base/bytes.h"
#include "core/crypto/aead.h"
#include "core/format/master_keys.h"

namespace coffre::fuzz {

// Not secrets: the seeds of tests/fuzz/corpus are sealed under these, so
// that a mutated seed still reaches the decoder behind the AEAD.
inline crypto::Key TestKey(uint8_t first) {
  crypto::Key key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(first + i);
  return key;
}
inline const crypto::Key& TestDataKey() {
  static const crypto::Key key = TestKey(0x01);
  return key;
}
inline const crypto::Key& TestIdKey() {
  static const crypto::Key key = TestKey(0x41);
  return key;
}
inline format::MasterKeys TestMasterKeys() {
  format::MasterKeys keys;
  keys.data_key = TestDataKey();
  keys.id_key = TestIdKey();
  keys.chunker_key = TestKey(0x81);
  return keys;
}
// The passphrase of the key slot seeds.
inline constexpr char kTestPassphrase[] = "fuzz passphrase";

// Aborts with `what` when a decoder breaks one of its written promises
// (e.g. what it decodes, its encoder writes and it decodes again).
inline void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

}  // namespace coffre::fuzz
