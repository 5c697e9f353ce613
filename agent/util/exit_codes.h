// The one table from errors to exit codes, shared by coffre and coffre-agent
// (documented in docs/cli.md, the man pages and the README). Scripts and
// monitoring depend on these numbers: never renumber.
#pragma once

#include "core/base/status.h"

namespace coffre {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitPartial = 3;
inline constexpr int kExitDamaged = 4;
inline constexpr int kExitAuth = 5;
inline constexpr int kExitNotFound = 6;
inline constexpr int kExitVersion = 7;
inline constexpr int kExitLocked = 8;
inline constexpr int kExitNoSpace = 9;
inline constexpr int kExitInterrupted = 130;

int ExitCodeFor(const Status& status);

}  // namespace coffre
