#include "vault/tenant/locked_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <utility>

namespace coffre::vault {
namespace {

FileIdentity IdentityOf(const struct stat& st) {
  return {static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open " + dir);
  Status s = ::fsync(fd) == 0 ? Status::Ok() : ErrnoStatus(errno, "fsync " + dir);
  ::close(fd);
  return s;
}

}  // namespace

Result<FileLock> FileLock::Acquire(const std::string& path, bool shared) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Err(ErrnoStatus(errno, "open " + path));
  while (::flock(fd, shared ? LOCK_SH : LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    Status s = ErrnoStatus(errno, "flock " + path);
    ::close(fd);
    return Err(s);
  }
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the only descriptor releases the lock
}

Result<FileIdentity> StatIdentity(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Err(ErrnoStatus(errno, "stat " + path));
  return IdentityOf(st);
}

Result<std::string> ReadWholeFile(const std::string& path, FileIdentity* identity) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(ErrnoStatus(errno, "open " + path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = ErrnoStatus(errno, "stat " + path);
    ::close(fd);
    return Err(s);
  }
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = n < 0 ? ErrnoStatus(errno, "read " + path) : Status::Ok();
      ::close(fd);
      if (!s.ok()) return Err(s);
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  if (identity != nullptr) *identity = IdentityOf(st);
  return out;
}

Result<FileIdentity> WriteFileAtomic(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp.XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return Err(ErrnoStatus(errno, "create temp file for " + path));
  struct stat st;
  Status s = WriteAll(fd, content, tmp);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus(errno, "fsync " + tmp);
  if (s.ok() && ::fstat(fd, &st) != 0) s = ErrnoStatus(errno, "stat " + tmp);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus(errno, "close " + tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus(errno, "rename " + tmp);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return Err(s);
  }
  RETURN_IF_ERROR(FsyncDir(DirOf(path)));
  return IdentityOf(st);  // rename keeps inode, size and mtime
}

}  // namespace coffre::vault
