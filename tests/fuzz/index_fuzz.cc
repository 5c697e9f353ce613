// Fuzz target: index objects. Each input is tried twice: as the plaintext
// (what DecodeIndex parses after the AEAD opened it: the useful path, since
// mutations of it reach every field), and as a sealed "CFIX" object under the
// fixed test key (the envelope's checks). What decodes must re-encode to
// bytes that decode to the same index.
#include "core/format/index.h"
#include "core/format/sealed_object.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

namespace {

void DecodeAndRoundTrip(ByteView plaintext) {
  auto index = format::DecodeIndex(plaintext);
  if (!index) return;
  const Bytes again = format::EncodeIndex(*index);
  auto decoded = format::DecodeIndex(again);
  fuzz::Check(decoded.has_value(), "an index that decoded does not decode once re-encoded");
  fuzz::Check(format::EncodeIndex(*decoded) == again, "index round trip changes the index");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  DecodeAndRoundTrip(input);
  auto opened = format::OpenObject(fuzz::TestDataKey(), "CFIX", format::kIndexVersion, input);
  if (opened) DecodeAndRoundTrip(opened->plaintext);
  return 0;
}
