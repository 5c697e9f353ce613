// Backend: where a repository's objects live (a local folder, a vault over
// HTTP, an S3 bucket). It stores opaque named byte strings and nothing else;
// it knows no keys and no formats. Contract, for every implementation (the
// conformance suite in tests/conformance/ checks it):
//
// - Names: an ObjectKind and a name of 1..64 characters from [0-9a-z]; any
//   other name is kInvalidArgument, so no caller input can reach a path.
// - Save is atomic and create-only: after it returns OK the whole object is
//   visible and durable (fsynced); a crash before that leaves nothing visible.
//   Saving a name that exists returns kAlreadyExists and leaves the object as
//   it was (objects are content-addressed, so the bytes are the same).
// - Load returns the object, or the `length` bytes at `offset` (length 0: to
//   the end). kNotFound if the object does not exist; kCorruption if the
//   range lies beyond its end.
// - Stat returns the size, or kNotFound.
// - Remove deletes; kNotFound if it did not exist.
// - List calls `fn` once per object of a kind, in no order; an object saved
//   before List starts is listed. A non-OK return from `fn` stops the listing
//   and is returned.
// - Errors: kNotFound (routine), kUnavailable (transient: a retry may help),
//   kNoSpace, kPermissionDenied, kIo, kAuthFailed. Only kUnavailable is
//   retried, by a wrapper, never inside a backend.
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/bytes.h"
#include "core/base/status.h"

namespace coffre::storage {

enum class ObjectKind { kConfig, kKey, kData, kIndex, kSnapshot, kLock };

// The folder/URL segment of a kind: "config", "keys", "data", "index",
// "snapshots", "locks".
const char* ObjectKindName(ObjectKind kind);
// Inverse of ObjectKindName; kInvalidArgument for anything else.
Result<ObjectKind> ParseObjectKind(std::string_view name);

struct ObjectName {
  ObjectKind kind;
  std::string name;
  // A hint, never part of the object's identity: this pack holds trees
  // only (repository version 2's tree packs). Backends ignore it; a cache
  // keeps such packs whole, as restic's cache does its metadata packs.
  bool metadata = false;
  std::string ToString() const;  // "data/3af0…"
};

// kInvalidArgument unless `name` is 1..64 chars of [0-9a-z].
Status ValidateObjectName(std::string_view name);

// The name of the single config object.
inline constexpr std::string_view kConfigName = "config";

// What every backend method checks first: a known kind, a valid name, and for
// kConfig the name kConfigName only (a repository has one config, stored at
// the top of its layout). kInvalidArgument otherwise, naming the object.
Status ValidateObject(const ObjectName& object);
// kInvalidArgument unless `kind` is one of the enumerators (List checks it).
Status ValidateObjectKind(ObjectKind kind);

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
};

// An object being saved piece by piece (the vault receiving an upload, so a
// pack is never held whole in memory). Commit publishes it with Save's
// guarantees: atomic, create-only (kAlreadyExists), durable. A writer
// destroyed without a successful Commit leaves nothing visible and no
// garbage. Thread-safety: one thread at a time per writer.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Write(ByteView data) = 0;
  virtual Status Commit() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Starts saving `object` piecewise, `size` bytes in all (an S3 PUT must
  // say its length before its body): Commit is kInvalidArgument unless
  // exactly `size` bytes were written. This default gathers the pieces in
  // memory and calls Save on Commit; backends that can stream override it.
  virtual Result<std::unique_ptr<ObjectWriter>> NewWriter(const ObjectName& object, uint64_t size);

  virtual Status Save(const ObjectName& object, ByteView data) = 0;
  virtual Result<Bytes> Load(const ObjectName& object, uint64_t offset = 0,
                             uint64_t length = 0) = 0;
  virtual Result<uint64_t> Stat(const ObjectName& object) = 0;
  virtual Status Remove(const ObjectName& object) = 0;
  virtual Status List(ObjectKind kind,
                      const std::function<Status(const ObjectInfo&)>& fn) = 0;
  // How many Saves are worth running at once: 1 for a local disk, more
  // where each one mostly waits on a network round trip.
  virtual size_t ParallelWrites() const { return 1; }
  // How many large reads are worth running at once (a restore's): 0 leaves
  // it to the caller's disks and cores; more where each read mostly waits
  // on a network round trip.
  virtual size_t ParallelReads() const { return 0; }
  // How far past a small read it pays to read at once and keep the rest
  // for the next reads: 0 for a local disk (the page cache does it), a few
  // MiB where every read is a network round trip.
  virtual uint64_t ReadAheadBytes() const { return 0; }
  // Where this backend stores, for messages ("/srv/repo", "https://…").
  virtual std::string Location() const = 0;
};

// OK if a stream announced as `size` bytes got `written`; kInvalidArgument
// naming the object (`label`, "data/3af0…") otherwise: what every writer's
// Commit checks.
Status CheckStreamedSize(const std::string& label, uint64_t written, uint64_t size);

// The names of every object of `kind`, sorted: List gathered into a vector,
// for callers that need the whole set before acting.
Result<std::vector<std::string>> ListNames(Backend& backend, ObjectKind kind);

}  // namespace coffre::storage
