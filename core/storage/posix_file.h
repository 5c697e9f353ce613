// Small POSIX helpers for LocalBackend: an owning file descriptor and
// directory stream, and the few calls whose errno handling is worth writing
// once (full writes, full reads, durable folder updates). Internal to
// core/storage; every failure goes through ErrnoStatus so callers see
// kNotFound, kNoSpace, kPermissionDenied ... rather than raw errno values.
// Thread-safety: free functions and move-only handles; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/bytes.h"
#include "core/base/status.h"

namespace coffre::storage::posix {

// Owns a file descriptor; closes it (ignoring errors) when destroyed. Call
// Close() where a close error matters (after writing).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  // Closes and reports the error: on some filesystems (NFS) the first sign
  // of a failed write is close() failing.
  Status Close(const std::string& path);

 private:
  int fd_ = -1;
};

// Opens `path` with open(2) flags (O_CLOEXEC is added).
Result<Fd> OpenFile(const std::string& path, int flags, int mode = 0);

// Writes all of `data`, resuming after short writes and EINTR.
Status WriteAll(int fd, ByteView data, const std::string& path);
// Reads exactly `size` bytes at `offset`; kCorruption if the file ends
// first (stored objects never shrink, so a short read means damage).
Status ReadAllAt(int fd, uint64_t offset, uint8_t* out, size_t size,
                 const std::string& path);

// fsync of a folder, so that names created or removed in it survive a crash.
Status SyncDir(const std::string& path);

// mkdir(path, mode); an existing entry is fine. Returns whether this call
// created the folder (so the caller knows the parent needs a SyncDir).
Result<bool> MakeDir(const std::string& path, int mode);

// The entry names of a folder, without "." and "..". kNotFound if the folder
// does not exist.
Result<std::vector<std::string>> ReadDirNames(const std::string& path);

// Everything before the last '/' ("/a/b" -> "/a", "/a" -> "/").
std::string ParentOf(const std::string& path);

}  // namespace coffre::storage::posix
