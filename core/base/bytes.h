// Byte buffers and views, and hex conversion: the vocabulary every format uses.
// Thread-safety: free functions, no shared state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace coffre {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes ToBytes(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

// Lowercase hex of `data`.
std::string HexEncode(ByteView data);
// Decodes lowercase or uppercase hex; kInvalidArgument on odd length or a
// non-hex character.
Result<Bytes> HexDecode(std::string_view hex);

// Overwrites `data` with zeros in a way the compiler cannot elide; used on
// key material before it is freed.
void SecureWipe(void* data, size_t size);

}  // namespace coffre
