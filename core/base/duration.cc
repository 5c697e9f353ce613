#include "core/base/duration.h"

#include <string>

namespace coffre {

Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  const std::string shown(text);
  auto bad = [&] {
    return Err(
        InvalidArgumentError("'" + shown + "' is not a duration (like 90s, 30m, 1h30m, 2d)"));
  };
  constexpr std::string_view kUnits = "wdhms";
  constexpr int64_t kSeconds[] = {7 * 86400, 86400, 3600, 60, 1};
  constexpr int64_t kMax = 100LL * 366 * 86400;
  if (text.empty()) return bad();
  int64_t total = 0;
  size_t next_unit = 0;  // units must come in decreasing order
  while (!text.empty()) {
    size_t digits = 0;
    int64_t value = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
      value = value * 10 + (text[digits] - '0');
      if (value > kMax) return bad();
      ++digits;
    }
    if (digits == 0) return bad();
    text.remove_prefix(digits);
    if (text.empty()) {  // a bare number: seconds, only on its own
      if (next_unit != 0) return bad();
      total = value;
      break;
    }
    size_t unit = kUnits.find(text[0], next_unit);
    if (unit == std::string_view::npos) return bad();
    text.remove_prefix(1);
    next_unit = unit + 1;
    total += value * kSeconds[unit];
    if (total > kMax) return bad();
  }
  return std::chrono::seconds(total);
}

}  // namespace coffre
