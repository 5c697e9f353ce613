#include "core/storage/http_status.h"

namespace coffre::storage {

namespace {

struct Row {
  ErrorCode code;
  HttpError error;
};

// Each status appears once: it names one code on the way back.
constexpr Row kTable[] = {
    {ErrorCode::kNotFound, {404, "not_found"}},
    {ErrorCode::kAlreadyExists, {409, "conflict"}},
    {ErrorCode::kInvalidArgument, {400, "bad_request"}},
    {ErrorCode::kAuthFailed, {401, "auth"}},
    {ErrorCode::kPermissionDenied, {403, "forbidden"}},
    {ErrorCode::kCorruption, {422, "integrity"}},
    {ErrorCode::kLocked, {423, "conflict"}},
    {ErrorCode::kNoSpace, {507, "quota"}},
    {ErrorCode::kIo, {500, "storage"}},
    {ErrorCode::kUnavailable, {503, "storage"}},
};

}  // namespace

HttpError HttpErrorFor(ErrorCode code) {
  for (const Row& row : kTable) {
    if (row.code == code) return row.error;
  }
  switch (code) {
    case ErrorCode::kCancelled: return {503, "storage"};
    case ErrorCode::kUnsupportedVersion: return {400, "bad_request"};
    default: return {500, "storage"};  // kInternal, and kOk, which is no error
  }
}

ErrorCode ErrorCodeForHttp(int status) {
  for (const Row& row : kTable) {
    if (row.error.status == status) return row.code;
  }
  if (status == 416) return ErrorCode::kCorruption;
  if (status == 408 || status == 429 || status >= 500) return ErrorCode::kUnavailable;
  if (status >= 400) return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;
}

}  // namespace coffre::storage
