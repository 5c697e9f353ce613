#include "core/format/pack_reader.h"

#include <algorithm>

namespace coffre::format {

Result<PackContents> ReadPackContents(
    const crypto::Key& data_key, uint64_t pack_size,
    const std::function<Result<Bytes>(uint64_t offset, uint64_t length)>& read) {
  if (pack_size < kPackPreambleSize + kPackFooterSize)
    return Err(CorruptionError("pack is too short (" + std::to_string(pack_size) + " bytes)"));
  const uint64_t guess = std::min(pack_size, kPackTailGuess);
  ASSIGN_OR_RETURN(Bytes end, read(pack_size - guess, guess));
  if (end.size() != guess) return Err(CorruptionError("pack is shorter than listed"));
  ASSIGN_OR_RETURN(size_t tail_size, PackTailSize(ByteView(end).last(kPackFooterSize)));
  if (tail_size > pack_size - kPackPreambleSize)
    return Err(CorruptionError("pack header length exceeds the pack"));
  Bytes tail;
  ByteView tail_view;
  if (tail_size <= guess) {
    tail_view = ByteView(end).last(tail_size);
  } else {
    ASSIGN_OR_RETURN(tail, read(pack_size - tail_size, tail_size));
    tail_view = tail;
  }
  Bytes preamble;
  ByteView preamble_view;
  if (guess == pack_size) {
    preamble_view = ByteView(end).first(kPackPreambleSize);
  } else {
    ASSIGN_OR_RETURN(preamble, read(0, kPackPreambleSize));
    preamble_view = preamble;
  }
  return DecodePackHeader(data_key, preamble_view, tail_view, pack_size);
}

}  // namespace coffre::format
