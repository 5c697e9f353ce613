// S3Backend: a repository kept in an S3 bucket (Ceph RADOS Gateway, or any
// S3), under a prefix, so that stateless vault nodes can share one object
// store. Requests are signed with SigV4 (core/storage/s3/sigv4.h).
//
// Layout: PREFIX + "config", PREFIX + "keys/NAME", "data/NAME", "index/",
// "snapshots/", "locks/" (docs/storage.md). Saves are one PUT with
// If-None-Match: * (create only if absent: 412 is kAlreadyExists); a stream
// goes up as one PUT whose last byte is held back until Commit, so nothing
// is visible before it and a writer dropped without Commit cuts the
// connection, which leaves nothing. Loads are ranged GETs; List pages
// through ListObjectsV2, 1000 keys at a time.
//
// Errors follow the Backend contract: no answer, a timeout and a 5xx are
// kUnavailable (RetryingBackend retries them, nothing here does); 403 with
// a wrong key or signature is kAuthFailed "S3 refused the credentials",
// RequestTimeTooSkewed kAuthFailed naming the clock, NoSuchBucket kNotFound
// naming the bucket, any other refusal kInvalidArgument with S3's code.
// Credentials never appear in a message or a log.
// Remove checks first that the object exists (S3's DELETE answers 204 for
// a missing key), so a Remove racing another may report success for both.
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/storage/backend.h"
#include "core/storage/s3/sigv4.h"

namespace coffre::storage::s3 {

struct S3Options {
  // "http://127.0.0.1:7480" or "https://s3.example.fr" (a port is optional).
  std::string endpoint;
  std::string region = "default";
  std::string bucket;
  // Prepended to every key: "" or "tenants/acme/main/" (a '/' is added if
  // missing).
  std::string prefix;
  // bucket.host/key instead of host/bucket/key (path-style, RGW's default).
  bool virtual_hosted = false;
  Credentials credentials;
  std::string ca_file;  // PEM bundle to trust over https; "": the system's
  int timeout_seconds = 60;
  size_t max_connections = 8;
  // The time requests are signed with; S3 refuses one more than 15 minutes
  // away from its own. Default: the system clock.
  std::function<std::chrono::system_clock::time_point()> clock;
};

class S3Backend : public Backend {
 public:
  // Checks the options and that the bucket answers (HEAD bucket): one line
  // naming the cause for a wrong key or secret, a missing bucket, a clock
  // more than 15 minutes off, an endpoint that does not answer.
  static Result<std::unique_ptr<S3Backend>> Open(const S3Options& options);
  // Creates the bucket (tests, first setup); kAlreadyExists if it exists.
  static Status CreateBucket(const S3Options& options);
  ~S3Backend() override;

  Result<std::unique_ptr<ObjectWriter>> NewWriter(const ObjectName& object, uint64_t size) override;
  Status Save(const ObjectName& object, ByteView data) override;
  Result<Bytes> Load(const ObjectName& object, uint64_t offset = 0,
                     uint64_t length = 0) override;
  Result<uint64_t> Stat(const ObjectName& object) override;
  Status Remove(const ObjectName& object) override;
  Status List(ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) override;
  // Each request waits on the network and the object store's disks.
  size_t ParallelWrites() const override { return 4; }
  size_t ParallelReads() const override { return 8; }
  std::string Location() const override;

 private:
  class Client;
  class Writer;
  explicit S3Backend(std::unique_ptr<Client> client);
  std::string KeyOf(const ObjectName& object) const;

  std::unique_ptr<Client> client_;
};

}  // namespace coffre::storage::s3
