// S3Backend: a repository kept in an S3 bucket under a prefix, so that many
// repositories (a vault's tenants) share one bucket and stateless vault
// nodes share one object store. It is the repository layout (docs/
// storage.md, "S3 layout") over an S3Bucket, which does the requests:
// PREFIX + "config", PREFIX + "keys/NAME", "data/NAME", "index/",
// "snapshots/", "locks/".
//
// Remove checks first that the object exists (S3's DELETE answers 204 for
// a missing key), so a Remove racing another may report success for both.
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <memory>
#include <string>

#include "core/storage/backend.h"
#include "core/storage/s3/s3_bucket.h"

namespace coffre::storage::s3 {

class S3Backend : public Backend {
 public:
  // `prefix` is "" or ends with '/' (one is added otherwise). The bucket
  // may be shared by many backends.
  S3Backend(std::shared_ptr<S3Bucket> bucket, std::string prefix);
  // Opens the bucket (S3Bucket::Open's checks) and the repository at `prefix`.
  static Result<std::unique_ptr<S3Backend>> Open(const S3Options& options,
                                                 const std::string& prefix);

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
  std::string Location() const override { return bucket_->Location() + prefix_; }

 private:
  std::string KeyOf(const ObjectName& object) const;

  const std::shared_ptr<S3Bucket> bucket_;
  const std::string prefix_;
};

}  // namespace coffre::storage::s3
