// Sizes written by people: "500", "64KiB", "10 GiB", "2TB". Binary units
// (KiB, MiB, GiB, TiB) are powers of 1024, decimal ones (kB, MB, GB, TB)
// powers of 1000; a bare number is bytes. Used for quotas and limits in
// configuration files and on command lines. FormatByteSize is the way
// back, for tables and messages of both the agent and the vault.
// Thread-safety: free function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace coffre {

// kInvalidArgument for anything else, a fraction, or a value above 2^64-1.
Result<uint64_t> ParseByteSize(std::string_view text);

// "512 B", "1.5 GiB": binary units, one decimal.
std::string FormatByteSize(uint64_t bytes);

}  // namespace coffre
