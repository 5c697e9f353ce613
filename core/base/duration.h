// Durations written by people, for timeouts and grace periods: "90s",
// "30m", "1h30m", "2d", "1w"; a bare number is seconds. (Retention periods,
// where "m" means months, have their own parser in agent/maintain/forget.h.)
// Thread-safety: free function.
#pragma once

#include <chrono>
#include <string_view>

#include "core/base/status.h"

namespace coffre {

// Units s, m (minutes), h, d, w, in decreasing order, each at most once.
// kInvalidArgument for anything else or a value above 100 years.
Result<std::chrono::seconds> ParseDuration(std::string_view text);

}  // namespace coffre
