// Prefetcher: opens the next few files a directory walk will read and asks
// the kernel to read them ahead (POSIX_FADV_WILLNEED). On a cold cache a
// directory of small files then costs many disk requests in flight at once
// instead of one round trip per file, while the walk itself stays on one
// thread. The window is bounded in files and bytes (fds and page cache).
// Thread-safety: one per directory being walked, used by one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "agent/util/fd.h"

namespace coffre::backup {

class Prefetcher {
 public:
  // `files`: (name, size) of the regular files of `dirfd` that will be read,
  // in walk order. `dirfd` must outlive the prefetcher.
  Prefetcher(int dirfd, std::vector<std::pair<std::string, uint64_t>> files,
             size_t max_files = 8, uint64_t max_bytes = 64 << 20);

  // The opened file `name` if the window holds it (ownership passes to the
  // caller), else an invalid fd: the caller opens it itself. Tops the window
  // up either way.
  UniqueFd Take(const std::string& name);

 private:
  void Fill();

  int dirfd_;
  std::vector<std::pair<std::string, uint64_t>> files_;
  size_t next_ = 0;  // first file not yet opened
  struct Opened {
    std::string name;
    uint64_t size;
    UniqueFd fd;
  };
  std::deque<Opened> window_;
  uint64_t window_bytes_ = 0;
  size_t max_files_;
  uint64_t max_bytes_;
};

// Opens a file of the walk read-only without following a symlink, with
// O_NOATIME where permitted (it needs ownership). -1 and errno on failure.
int OpenForBackup(int dirfd, const std::string& name);

}  // namespace coffre::backup
