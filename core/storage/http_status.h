// How a storage Status crosses HTTP: the vault answers an error with the
// status this table gives, and the agent turns that status back into the
// same ErrorCode, so both sides read one table (docs/vault-api.md, "Errors").
// What a client may retry follows from the code: only kUnavailable (503 and
// the proxies' 502/504/408/429), never a corruption or an I/O failure.
// Thread-safety: free functions over constant tables.
#pragma once

#include "core/base/status.h"

namespace coffre::storage {

struct HttpError {
  int status;
  // The vault's metrics kind (coffre_vault_errors_total{kind}).
  const char* kind;
};

// The answer for a failed operation. Every code round-trips through
// ErrorCodeForHttp except three that a client cannot act on as such:
// kCancelled (the vault is stopping: 503, retry), kInternal (500, as kIo)
// and kUnsupportedVersion (400, as kInvalidArgument).
HttpError HttpErrorFor(ErrorCode code);

// The code of an error answer. Besides the table: 416 (a range past the
// end) is kCorruption, as Backend::Load's contract says; 408, 429, 502, 504
// and any other 5xx are kUnavailable; any other 4xx is kInvalidArgument.
// A 2xx or 3xx is not an error answer: kInternal.
ErrorCode ErrorCodeForHttp(int status);

}  // namespace coffre::storage
