// The file primitives under Registry: an flock(2) held on a sibling lock
// file, atomic replacement of a small file, and the (mtime, size, inode)
// identity that tells a reader the file changed since it last looked.
// Thread-safety: free functions; a FileLock is owned by one thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/status.h"

namespace coffre::vault {

// An flock(2) on `path` (created 0600 if absent), held until destruction.
// The lock lives on a separate file (DATA/tenants.json.lock) rather than on
// the data file itself, because rename() of a new version over the old one
// would leave a waiter holding a lock on an unlinked inode.
// flock locks of separate open()s exclude each other even within one
// process, so threads are serialised too.
class FileLock {
 public:
  // `shared`: LOCK_SH, else LOCK_EX. Blocks until granted.
  static Result<FileLock> Acquire(const std::string& path, bool shared);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

struct FileIdentity {
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  uint64_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};

// kNotFound if `path` does not exist.
Result<FileIdentity> StatIdentity(const std::string& path);

// The whole content of `path`, and (if `identity`) the identity of what was
// read, taken from the same descriptor.
Result<std::string> ReadWholeFile(const std::string& path, FileIdentity* identity);

// Replaces `path` with `content` atomically and durably: a temp file (mode
// 0600) in the same folder, fsync, rename, fsync of the folder. A crash
// leaves the old or the new file, never a mix; a failure removes the temp
// file. Returns the new file's identity.
Result<FileIdentity> WriteFileAtomic(const std::string& path, const std::string& content);

}  // namespace coffre::vault
