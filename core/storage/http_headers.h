// The numbers HTTP headers carry, read the one way the vault, its client and
// the S3 storage agree on: a Content-Length and the object's total size in a
// Content-Range answer.
// Thread-safety: free functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace coffre::storage {

// A whole decimal number ("1234"), or nullopt for anything else (empty,
// signs, spaces, overflow).
std::optional<uint64_t> ParseDecimal(std::string_view text);

// SIZE of a Content-Range value "bytes FIRST-LAST/SIZE" or "bytes */SIZE"
// (the latter with a 416); nullopt if it is neither.
std::optional<uint64_t> ContentRangeTotal(std::string_view content_range);

}  // namespace coffre::storage
