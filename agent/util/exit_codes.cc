#include "agent/util/exit_codes.h"

namespace coffre {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk: return kExitOk;
    case ErrorCode::kCorruption: return kExitDamaged;
    case ErrorCode::kAuthFailed: return kExitAuth;
    case ErrorCode::kNotFound: return kExitNotFound;
    case ErrorCode::kUnsupportedVersion: return kExitVersion;
    case ErrorCode::kNoSpace: return kExitNoSpace;
    case ErrorCode::kCancelled: return kExitInterrupted;
    case ErrorCode::kLocked: return kExitLocked;
    case ErrorCode::kInvalidArgument: return kExitFailure;
    default: return kExitFailure;
  }
}

}  // namespace coffre
