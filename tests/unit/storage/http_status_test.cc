// The vault's error statuses and the agent's reading of them are one table:
// a code sent as HTTP comes back as the same code, and only what is
// transient comes back retryable.
#include <catch2/catch.hpp>

#include "core/storage/http_status.h"

namespace coffre::storage {
namespace {

constexpr ErrorCode kEveryError[] = {
    ErrorCode::kNotFound,     ErrorCode::kAlreadyExists,      ErrorCode::kCorruption,
    ErrorCode::kAuthFailed,   ErrorCode::kPermissionDenied,   ErrorCode::kInvalidArgument,
    ErrorCode::kUnsupportedVersion, ErrorCode::kNoSpace,      ErrorCode::kIo,
    ErrorCode::kUnavailable,  ErrorCode::kCancelled,          ErrorCode::kLocked,
    ErrorCode::kInternal,
};

TEST_CASE("an error code sent as an HTTP status comes back as itself", "[unit][storage]") {
  for (ErrorCode code : kEveryError) {
    INFO(ErrorCodeName(code));
    const HttpError error = HttpErrorFor(code);
    CHECK(error.status >= 400);
    CHECK(error.status < 600);
    const ErrorCode back = ErrorCodeForHttp(error.status);
    switch (code) {
      case ErrorCode::kCancelled: CHECK(back == ErrorCode::kUnavailable); break;
      case ErrorCode::kInternal: CHECK(back == ErrorCode::kIo); break;
      case ErrorCode::kUnsupportedVersion: CHECK(back == ErrorCode::kInvalidArgument); break;
      default: CHECK(back == code);
    }
  }
}

TEST_CASE("damaged data and failed disks are not answered as retryable", "[unit][storage]") {
  // The old tables sent these as 500, which the agent retried six times.
  for (ErrorCode code : {ErrorCode::kCorruption, ErrorCode::kIo, ErrorCode::kNoSpace}) {
    INFO(ErrorCodeName(code));
    CHECK(ErrorCodeForHttp(HttpErrorFor(code).status) != ErrorCode::kUnavailable);
  }
  CHECK(ErrorCodeForHttp(HttpErrorFor(ErrorCode::kUnavailable).status) ==
        ErrorCode::kUnavailable);
}

TEST_CASE("statuses outside the table read as their class", "[unit][storage]") {
  CHECK(ErrorCodeForHttp(416) == ErrorCode::kCorruption);
  for (int status : {408, 429, 502, 504, 599}) CHECK(ErrorCodeForHttp(status) == ErrorCode::kUnavailable);
  for (int status : {405, 411, 413, 418}) CHECK(ErrorCodeForHttp(status) == ErrorCode::kInvalidArgument);
  CHECK(ErrorCodeForHttp(200) == ErrorCode::kInternal);
}

}  // namespace
}  // namespace coffre::storage
