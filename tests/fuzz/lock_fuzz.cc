// Fuzz target: lock records (locks/), as plaintext (DecodeLockRecord after
// the AEAD: the useful path) and as sealed "CFLK" objects under the fixed
// test key. The first byte picks the record type; prune_plan_fuzz holds it at
// "prune plan". What decodes must re-encode to bytes that decode equal.
#include "core/format/lock.h"
#include "core/format/sealed_object.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

namespace {

void DecodeAndRoundTrip(ByteView plaintext) {
  auto record = format::DecodeLockRecord(plaintext);
  if (!record) return;
  auto again = format::DecodeLockRecord(format::EncodeLockRecord(*record));
  fuzz::Check(again.has_value() && *again == *record, "lock record round trip changes it");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  DecodeAndRoundTrip(input);
  auto opened = format::OpenObject(fuzz::TestDataKey(), format::kLockMagic,
                                   format::kLockVersion, input);
  if (opened) DecodeAndRoundTrip(opened->plaintext);
  return 0;
}
