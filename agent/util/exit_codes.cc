#include "cli/exit_codes.h"

namespace coffre::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk: return kExitOk;
    case ErrorCode::kCorruption: return kExitDamaged;
    case ErrorCode::kAuthFailed: return kExitAuth;
    case ErrorCode::kNotFound: return kExitNotFound;
    case ErrorCode::kUnsupportedVersion: return kExitVersion;
    case ErrorCode::kNoSpace: return kExitNoSpace;
    case ErrorCode::kCancelled: return kExitInterrupted;
    case ErrorCode::kInvalidArgument: return kExitFailure;
    default: return kExitFailure;
  }
}

}  // namespace coffre::cli
