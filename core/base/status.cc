#include "core/base/status.h"

#include <cerrno>
#include <cstring>

namespace coffre {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kAlreadyExists: return "already exists";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kAuthFailed: return "authentication failed";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kUnsupportedVersion: return "unsupported version";
    case ErrorCode::kNoSpace: return "no space";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kLocked: return "locked";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown";
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_);
}

std::string Status::ToString() const { return ok() ? "ok" : message_; }

Status NotFoundError(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
Status AlreadyExistsError(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
Status CorruptionError(std::string m) { return {ErrorCode::kCorruption, std::move(m)}; }
Status AuthFailedError(std::string m) { return {ErrorCode::kAuthFailed, std::move(m)}; }
Status PermissionDeniedError(std::string m) { return {ErrorCode::kPermissionDenied, std::move(m)}; }
Status InvalidArgumentError(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
Status UnsupportedVersionError(std::string m) { return {ErrorCode::kUnsupportedVersion, std::move(m)}; }
Status NoSpaceError(std::string m) { return {ErrorCode::kNoSpace, std::move(m)}; }
Status IoError(std::string m) { return {ErrorCode::kIo, std::move(m)}; }
Status UnavailableError(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
Status CancelledError(std::string m) { return {ErrorCode::kCancelled, std::move(m)}; }
Status LockedError(std::string m) { return {ErrorCode::kLocked, std::move(m)}; }
Status InternalError(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

Status ErrnoStatus(int err, const std::string& what) {
  std::string message = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(std::move(message));
    case EEXIST:
      return AlreadyExistsError(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDeniedError(std::move(message));
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return NoSpaceError(std::move(message));
    case EINTR:
    case EAGAIN:
    case ETIMEDOUT:
    case ECONNRESET:
    case ECONNREFUSED:
      return UnavailableError(std::move(message));
    case EINVAL:
    case ENAMETOOLONG:
      return InvalidArgumentError(std::move(message));
    default:
      return IoError(std::move(message));
  }
}

}  // namespace coffre
