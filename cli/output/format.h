// Human-readable sizes, times and durations, and JSON rendering, shared by
// every command's output.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace coffre::cli {

using Json = nlohmann::ordered_json;

// "1.5 GiB", "512 B".
std::string HumanBytes(uint64_t bytes);
// RFC 3339 in UTC with nanoseconds: "2026-11-28T19:03:16.123456789Z".
std::string Rfc3339(int64_t unix_ns);
// Local time to the second, for tables: "2026-11-28 20:03:16".
std::string LocalTime(int64_t unix_ns);
// "1m05s", "3.2s".
std::string HumanDuration(uint64_t ms);
// JSON text on one line; bytes that are not UTF-8 (file names) become U+FFFD.
std::string DumpJson(const Json& json);

}  // namespace coffre::cli
