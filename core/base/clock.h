// The two clocks, read in nanoseconds: the wall clock (times stored or
// shown) and the monotonic clock (intervals, deadlines); and a wall time
// written for people and logs.
// Thread-safety: free functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace coffre {

inline int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// "2024-05-01T12:34:56.789Z": RFC 3339, UTC, milliseconds.
std::string Rfc3339Ms(int64_t wall_ns);

}  // namespace coffre
