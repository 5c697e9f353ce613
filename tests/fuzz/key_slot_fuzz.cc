// Fuzz target: key slots (keys/). DecodeKeySlotInfo reads the clear fields
// with no passphrase; OpenKeySlot runs scrypt with the slot's own cost and
// opens the wrapped keys with the test passphrase. scrypt at a real cost
// takes 0.3 s, so OpenKeySlot only runs on slots whose clear cost bytes say
// N <= 2^6, r <= 4, p <= 2 (the seeds are made at N = 2^4, r = 1, p = 1);
// the bounds that keep a hostile cost from running at all are checked on
// every input by DecodeKeySlotInfo, which applies the same validation.
#include "core/format/key_slot.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView input(data, size);
  (void)format::DecodeKeySlotInfo(input);
  // Layout: magic[4] version kdf log2_n r(varint) p(varint) ...
  const bool cheap = size > 8 && data[6] <= 6 && data[7] <= 4 && data[8] <= 2;
  if (!cheap) return 0;
  auto keys = format::OpenKeySlot(input, AsBytes(fuzz::kTestPassphrase));
  if (keys) {
    // Only the seeds' own bytes open; the clear fields are all authenticated.
    fuzz::Check(format::DecodeKeySlotInfo(input).has_value(),
                "a slot opens but its clear fields do not decode");
  }
  return 0;
}
