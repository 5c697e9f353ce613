// Status and Result<T>: how every function in core/ and agent/ reports failure.
//
// A Status is a small closed set of codes plus a human message. Only the
// storage layer classifies raw OS/network errors into codes; everything above
// it passes them on, adding context. Only kUnavailable may be retried.
// Thread-safety: values; copy freely.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace coffre {

enum class ErrorCode {
  kOk = 0,
  kNotFound,            // routine: the object or file does not exist
  kAlreadyExists,       // a create-only write found the name taken
  kCorruption,          // stored data is bad: never retried, never skipped
  kAuthFailed,          // wrong passphrase or token
  kPermissionDenied,    // the OS or the server refused the operation
  kInvalidArgument,     // the caller's input is wrong (bad id, hostile name)
  kUnsupportedVersion,  // a format newer than this build understands
  kNoSpace,             // disk or quota full
  kIo,                  // any other I/O failure
  kUnavailable,         // transient (network, timeouts): the only one retried
  kCancelled,           // the user or a signal stopped the operation
  kLocked,              // another process holds the repository (a prune runs)
  kInternal,            // a bug
};

// Stable lowercase name of a code, used in logs and JSON ("not found").
const char* ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  // Lets `return Err(status);` work in functions that return a Status, so the
  // propagation macros below serve both Status and Result<T> functions.
  Status(tl::unexpected<Status> error)  // NOLINT(runtime/explicit)
      : Status(std::move(error.value())) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message"; the code is kept.
  Status WithContext(const std::string& context) const;

  // "message" for OK-less display; "ok" when ok.
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// Shorthands: NotFound("pack 3af0…") etc.
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status CorruptionError(std::string message);
Status AuthFailedError(std::string message);
Status PermissionDeniedError(std::string message);
Status InvalidArgumentError(std::string message);
Status UnsupportedVersionError(std::string message);
Status NoSpaceError(std::string message);
Status IoError(std::string message);
Status UnavailableError(std::string message);
Status CancelledError(std::string message);
Status LockedError(std::string message);
Status InternalError(std::string message);

// Maps an errno value to a Status with the right code; `what` names the
// operation and object ("open /etc/passwd").
Status ErrnoStatus(int err, const std::string& what);

// Result<T>: a value or a non-OK Status (tl::expected, see STYLE.md).
template <typename T>
using Result = tl::expected<T, Status>;

// The error of a Result, or Ok: for callers that only need success (and,
// with the Status overload, for templates that handle both).
inline const Status& StatusOf(const Status& status) { return status; }
template <typename T>
Status StatusOf(const Result<T>& result) {
  return result ? Status::Ok() : result.error();
}

inline tl::unexpected<Status> Err(Status status) {
  return tl::unexpected<Status>(std::move(status));
}

}  // namespace coffre

// Propagation helpers: keep call sites short and uniform.
#define COFFRE_CONCAT_INNER(a, b) a##b
#define COFFRE_CONCAT(a, b) COFFRE_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): expr yields a Status; return it if not ok.
#define RETURN_IF_ERROR(expr)                     \
  do {                                            \
    ::coffre::Status coffre_status_ = (expr);     \
    if (!coffre_status_.ok()) return ::coffre::Err(coffre_status_); \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): expr yields a Result<T>; on error return it.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(COFFRE_CONCAT(coffre_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp) return ::coffre::Err(std::move(tmp).error()); \
  lhs = std::move(*tmp)
