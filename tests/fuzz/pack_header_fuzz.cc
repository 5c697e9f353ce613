// Fuzz target: the plaintext of a pack header (the entry list), as
// DecodePackHeader parses it once the AEAD has opened it. The input is
//   u32 little-endian: length of the blob area | header plaintext
// and the target seals the plaintext under the fixed test key into a pack of
// 40 + blob area + sealed header + 8 bytes (only the preamble and the tail
// exist in memory: the decoder must not need the blob bytes), so every
// mutation reaches the entry parser and the layout checks (overlaps, entries
// past the header, hostile counts against a huge or tiny pack).
#include <cstring>
#include <limits>

#include "core/base/encoding.h"
#include "core/format/pack.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint64_t blob_area = LoadU32(data);
  const ByteView plaintext(data + 4, size - 4);

  Bytes preamble(format::kPackPreambleSize, 0);
  std::memcpy(preamble.data(), "CFPK", 4);
  preamble[4] = format::kPackVersion;
  for (size_t i = 8; i < preamble.size(); ++i) preamble[i] = static_cast<uint8_t>(i * 7);
  format::PackSalt salt;
  std::memcpy(salt.data(), preamble.data() + 8, salt.size());

  const crypto::Key key = format::PackKey(fuzz::TestDataKey(), salt);
  Bytes tail = crypto::Aead(key).Seal(std::numeric_limits<uint64_t>::max(), plaintext, preamble);
  const uint32_t header_len = static_cast<uint32_t>(tail.size());
  uint8_t footer[format::kPackFooterSize];
  StoreU32(footer, header_len);
  std::memcpy(footer + 4, "CFPE", 4);
  tail.insert(tail.end(), footer, footer + sizeof(footer));
  const uint64_t pack_size = format::kPackPreambleSize + blob_area + tail.size();

  auto contents = format::DecodePackHeader(fuzz::TestDataKey(), preamble, tail, pack_size);
  if (!contents) return 0;
  fuzz::Check(contents->salt == salt, "decoded pack salt differs from the preamble's");
  const uint64_t header_start = pack_size - tail.size();
  for (const format::PackEntry& e : contents->entries) {
    fuzz::Check(e.offset >= format::kPackPreambleSize && e.offset <= header_start &&
                    e.stored_len <= header_start - e.offset,
                "a decoded entry is not inside [40, header)");
  }
  return 0;
}
