#include "core/storage/posix_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace coffre::storage::posix {

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

int Fd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

Status Fd::Close(const std::string& path) {
  int fd = Release();
  // Linux closes the descriptor even when close() fails, so no retry on
  // EINTR: that could close a descriptor another thread just opened.
  if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) {
    return ErrnoStatus(errno, "close " + path);
  }
  return Status::Ok();
}

Result<Fd> OpenFile(const std::string& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Err(ErrnoStatus(errno, "open " + path));
  return Fd(fd);
}

Status WriteAll(int fd, ByteView data, const std::string& path) {
  // Linux writes at most about 2 GiB per call; ask for less.
  constexpr size_t kMaxChunk = size_t{1} << 30;
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), std::min(data.size(), kMaxChunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + path);
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status ReadAllAt(int fd, uint64_t offset, uint8_t* out, size_t size,
                 const std::string& path) {
  constexpr size_t kMaxChunk = size_t{1} << 30;
  while (size > 0) {
    ssize_t n = ::pread(fd, out, std::min(size, kMaxChunk),
                        static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read " + path);
    }
    if (n == 0) {
      return CorruptionError(path + " ended before offset " +
                             std::to_string(offset + size));
    }
    out += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SyncDir(const std::string& path) {
  ASSIGN_OR_RETURN(Fd dir, OpenFile(path, O_RDONLY | O_DIRECTORY));
  if (::fsync(dir.get()) != 0) return ErrnoStatus(errno, "fsync " + path);
  return Status::Ok();
}

Result<bool> MakeDir(const std::string& path, int mode) {
  if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) == 0) return true;
  // Another thread or process may have created it first: that is success.
  if (errno == EEXIST) return false;
  return Err(ErrnoStatus(errno, "mkdir " + path));
}

Result<std::vector<std::string>> ReadDirNames(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), &::closedir);
  if (!dir) return Err(ErrnoStatus(errno, "opendir " + path));
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) return Err(ErrnoStatus(errno, "readdir " + path));
      break;
    }
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  return names;
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace coffre::storage::posix
