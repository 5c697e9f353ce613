// S3Bucket: one bucket of an S3 server (Ceph RADOS Gateway, or any S3),
// reached with SigV4 (core/storage/s3/sigv4.h) over a pool of kept-alive
// connections. It offers the key-level operations that the S3 storage
// (s3_backend.h) and the vault's repository catalog build on, each with S3's
// answers turned into Status codes:
//
// - PutIfAbsent: one PUT with If-None-Match: *, the body's SHA-256 signed;
//   412 (or ConditionalRequestConflict) is kAlreadyExists.
// - StreamPut: one PUT of an announced size fed through a 1 MiB queue, its
//   last byte held back until Commit (nothing visible before; a writer
//   dropped without Commit cuts the connection and S3 keeps nothing).
// - Get (ranged; a range past the end is kCorruption), Head, Delete (S3
//   answers 204 for a missing key too), List (ListObjectsV2, paged).
//
// Errors: no answer, a timeout, 5xx, SlowDown are kUnavailable (retried by
// RetryingBackend, never here); InvalidAccessKeyId and SignatureDoesNotMatch
// kAuthFailed "S3 refused the credentials"; RequestTimeTooSkewed kAuthFailed
// naming the clock; NoSuchBucket kNotFound naming the bucket; any other
// refusal kInvalidArgument with S3's code. Credentials are in no message.
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/base/bytes.h"
#include "core/base/status.h"
#include "core/storage/backend.h"
#include "core/storage/s3/sigv4.h"

namespace coffre::storage::s3 {

struct S3Options {
  // "http://127.0.0.1:7480" or "https://s3.example.fr" (a port is optional).
  std::string endpoint;
  std::string region = "default";
  std::string bucket;
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

class S3Bucket {
 public:
  // Checks the options and that the bucket answers (HEAD bucket): one line
  // naming the cause for a wrong key or secret, a missing bucket, a clock
  // more than 15 minutes off, an endpoint that does not answer.
  static Result<std::shared_ptr<S3Bucket>> Open(const S3Options& options);
  // Creates the bucket (tests, first setup); kAlreadyExists if it exists.
  static Status Create(const S3Options& options);
  ~S3Bucket();

  // `label` names the object in messages ("data/3af0…"); keys are given
  // whole, without the bucket.
  Status PutIfAbsent(const std::string& key, ByteView data, const std::string& label);
  Result<std::unique_ptr<ObjectWriter>> StreamPut(const std::string& key, uint64_t size,
                                                  const std::string& label);
  // The `length` bytes at `offset` (0: to the end), as Backend::Load.
  Result<Bytes> Get(const std::string& key, uint64_t offset, uint64_t length,
                    const std::string& label);
  // The object's size; kNotFound if there is none.
  Result<uint64_t> Head(const std::string& key, const std::string& label);
  Status Delete(const std::string& key, const std::string& label);
  // Every key under `prefix` with its size, in key order, 1000 a request;
  // a non-OK return from `fn` stops the listing and is returned.
  Status List(const std::string& prefix,
              const std::function<Status(const std::string& key, uint64_t size)>& fn);

  // "http://host:port/bucket/", for messages.
  std::string Location() const;

 private:
  class Client;
  class Writer;
  explicit S3Bucket(std::unique_ptr<Client> client);

  std::unique_ptr<Client> client_;
};

}  // namespace coffre::storage::s3
