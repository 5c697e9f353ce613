#include "core/base/clock.h"

#include <cstdio>
#include <ctime>

namespace coffre {

std::string Rfc3339Ms(int64_t wall_ns) {
  const time_t seconds = static_cast<time_t>(wall_ns / 1'000'000'000);
  struct tm tm;
  ::gmtime_r(&seconds, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ",
                static_cast<int>((wall_ns % 1'000'000'000) / 1'000'000));
  return buf;
}

}  // namespace coffre
