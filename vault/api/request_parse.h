// What a request line and a Range header say, parsed without touching a
// socket, a file or cpp-httplib: the vault's one reading of a request
// target (docs/vault-api.md, "Names") and of "Range: bytes=...". Kept pure
// and apart from the HTTP code so every rule is unit-tested and the two
// parsers can be fuzzed (they take arbitrary bytes and never throw).
// Thread-safety: free functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace coffre::vault {

// A request target the vault serves, named by its parts.
struct RequestTarget {
  enum class Route {
    kHealth,   // /v1/health
    kMetrics,  // /metrics
    kRepo,     // /v1/repos/T/R
    kList,     // /v1/repos/T/R/KIND/
    kObject,   // /v1/repos/T/R/KIND/NAME
  };
  Route route = Route::kHealth;
  std::string tenant;  // kRepo, kList, kObject
  std::string repo;
  std::string kind;    // kList, kObject: a known kind name ("data", ...)
  std::string name;    // kObject: "config", or 64 lower-case hex digits
  // kList, from "?limit=N&after=NAME" (docs/vault-api.md, "Listings"):
  // at most this many names (0: none asked, the legacy whole listing), and
  // only names after this one ("": from the first).
  uint64_t list_limit = 0;
  std::string list_after;
};

// Parses the raw target of a request line, as the client sent it (not
// percent-decoded). kInvalidArgument (answered 400) for anything that is
// not exactly one of the routes above with valid names: a query string
// (other than a listing's limit and after, each at most once), any
// '%' (no valid name needs one, so "%2e%2e" and "%2f" never reach a decoder),
// "..", an empty segment ("//"), upper case, a byte outside printable ASCII,
// a name too long, an unknown kind, or a config name under another kind.
// kNotFound (404) for a well-formed path outside /v1/ and /metrics.
// The message says what was wrong, never echoes more than 64 bytes.
Result<RequestTarget> ParseRequestTarget(std::string_view raw);

// One range of an object: `length` bytes from `first`.
struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};

// A single "bytes=FIRST-LAST" or "bytes=FIRST-" range of an object of `size`
// bytes, LAST clipped to the end. nullopt (answered 416) for anything else:
// another unit, several ranges, a suffix range ("bytes=-N"), spaces, signs,
// numbers past 2^64, FIRST at or past the end, LAST before FIRST.
std::optional<ByteRange> ParseRangeHeader(std::string_view header, uint64_t size);

}  // namespace coffre::vault
