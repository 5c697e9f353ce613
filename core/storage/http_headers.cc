#include "core/storage/http_headers.h"

#include <charconv>

namespace coffre::storage {

std::optional<uint64_t> ParseDecimal(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint64_t> ContentRangeTotal(std::string_view content_range) {
  const size_t slash = content_range.rfind('/');
  if (content_range.substr(0, 6) != "bytes " || slash == std::string_view::npos)
    return std::nullopt;
  return ParseDecimal(content_range.substr(slash + 1));
}

}  // namespace coffre::storage
