// Fuzz target: a whole stored pack, as a backend hands it over (the sealed
// path). ReadPackContents finds the footer, the header and the preamble
// through ranged reads of the input, DecodePackHeader opens the header under
// the fixed test key, and every blob it lists is opened. Seeds are real packs
// sealed under that key, so mutations of the blob bytes and the clear fields
// (preamble, footer, header length) reach the checks behind them.
#include <algorithm>

#include "core/format/pack.h"
#include "core/format/pack_reader.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView pack(data, size);
  auto read = [&](uint64_t offset, uint64_t length) -> Result<Bytes> {
    fuzz::Check(offset <= size && length <= size - offset,
                "ReadPackContents reads outside the pack");
    return Bytes(pack.begin() + offset, pack.begin() + offset + length);
  };
  auto contents = format::ReadPackContents(fuzz::TestDataKey(), size, read);
  if (!contents) return 0;
  const crypto::Key key = format::PackKey(fuzz::TestDataKey(), contents->salt);
  for (const format::PackEntry& entry : contents->entries) {
    // DecodePackHeader promises every entry lies inside the pack.
    fuzz::Check(entry.offset >= format::kPackPreambleSize &&
                    entry.offset <= size && entry.stored_len <= size - entry.offset,
                "a decoded pack entry lies outside the pack");
    (void)format::OpenBlob(key, entry, pack.subspan(entry.offset, entry.stored_len));
  }
  return 0;
}
