#include "agent/backup/prefetcher.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

namespace coffre::backup {

int OpenForBackup(int dirfd, const std::string& name) {
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  return fd;
}

Prefetcher::Prefetcher(int dirfd, std::vector<std::pair<std::string, uint64_t>> files,
                       size_t max_files, uint64_t max_bytes)
    : dirfd_(dirfd), files_(std::move(files)), max_files_(max_files), max_bytes_(max_bytes) {
  Fill();
}

void Prefetcher::Fill() {
  while (next_ < files_.size() && window_.size() < max_files_ &&
         (window_.empty() || window_bytes_ + files_[next_].second <= max_bytes_)) {
    const auto& [name, size] = files_[next_++];
    UniqueFd fd(OpenForBackup(dirfd_, name));
    if (!fd.valid()) continue;  // the walk opens it again and reports why
    posix_fadvise(fd.get(), 0, static_cast<off_t>(std::min<uint64_t>(size, max_bytes_)),
                  POSIX_FADV_WILLNEED);
    window_bytes_ += size;
    window_.push_back(Opened{name, size, std::move(fd)});
  }
}

UniqueFd Prefetcher::Take(const std::string& name) {
  UniqueFd out;
  bool held = std::any_of(window_.begin(), window_.end(),
                          [&](const Opened& o) { return o.name == name; });
  if (!held) return out;
  // Files are taken in walk order; any skipped before `name` (vanished,
  // unreadable, or found unchanged after all) are closed.
  while (!window_.empty()) {
    Opened& front = window_.front();
    bool match = front.name == name;
    if (match) out = std::move(front.fd);
    window_bytes_ -= std::min(window_bytes_, front.size);
    window_.pop_front();
    if (match) break;
  }
  Fill();
  return out;
}

}  // namespace coffre::backup
