// Fuzz target: snapshot manifests, as plaintext (DecodeSnapshot after the
// AEAD: the useful path) and as sealed "CFSN" objects under the fixed test
// key. What decodes must re-encode to bytes that decode to an equal value.
#include "core/format/sealed_object.h"
#include "core/format/snapshot.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

namespace {

void DecodeAndRoundTrip(ByteView plaintext) {
  auto snapshot = format::DecodeSnapshot(plaintext);
  if (!snapshot) return;
  auto again = format::DecodeSnapshot(format::EncodeSnapshot(*snapshot));
  fuzz::Check(again.has_value() && *again == *snapshot, "snapshot round trip changes it");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  DecodeAndRoundTrip(input);
  auto opened =
      format::OpenObject(fuzz::TestDataKey(), "CFSN", format::kSnapshotVersion, input);
  if (opened) DecodeAndRoundTrip(opened->plaintext);
  return 0;
}
