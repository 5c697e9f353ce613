// ReadPackContents: a stored pack's salt and blob list, from its own
// (encrypted) header, read through whatever gives byte ranges of the pack:
// ranged loads from a backend (index recovery, prune's rescue) or the bytes
// of a pack already in memory (check). The one place that knows where the
// header lies (docs/format/pack.md): a pack ends with its sealed header,
// then header_len u32 and "CFPE"; it starts with the 40-byte preamble.
// Reads the last kPackTailGuess bytes first, which hold the footer and, for
// all but huge packs, the whole header: usually two reads (tail, preamble),
// or one when the pack is that small.
// Thread-safety: a free function; `read` is called from the calling thread.
#pragma once

#include <cstdint>
#include <functional>

#include "core/format/pack.h"

namespace coffre::format {

inline constexpr uint64_t kPackTailGuess = 64 * 1024;

// `read(offset, length)` returns exactly those bytes of the pack, or an
// error (returned as it is: kNotFound, kUnavailable...). kCorruption naming
// what is wrong for a pack too short for its layout, a bad footer, or a
// header that does not open (DecodePackHeader).
Result<PackContents> ReadPackContents(
    const crypto::Key& data_key, uint64_t pack_size,
    const std::function<Result<Bytes>(uint64_t offset, uint64_t length)>& read);

}  // namespace coffre::format
