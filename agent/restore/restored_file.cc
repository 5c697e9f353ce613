#include "agent/restore/restored_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "agent/fsmeta/node_writer.h"

namespace coffre::restore {

RestoredFile::RestoredFile(DirFd dir, UniqueFd fd, format::Node node, std::string path)
    : dir_(std::move(dir)), fd_(std::move(fd)), node_(std::move(node)), path_(std::move(path)) {
  uint64_t start = 0;
  extent_starts_.reserve(node_.sparse.size());
  for (const format::Extent& e : node_.sparse) {
    extent_starts_.push_back(start);
    start += e.length;
  }
  // Sparse files get their size first, so writing the extents leaves holes.
  if (!node_.sparse.empty() && ftruncate(fd_.get(), static_cast<off_t>(node_.size)) != 0) {
    write_error_ = ErrnoStatus(errno, "truncate");
    failed_ = true;
  }
}

void RestoredFile::Write(uint64_t offset, ByteView data) {
  size_t done = 0;
  // The extent holding `offset`: the last one starting at or before it.
  size_t extent = 0;
  if (!node_.sparse.empty()) {
    auto it = std::upper_bound(extent_starts_.begin(), extent_starts_.end(), offset);
    if (it == extent_starts_.begin()) return;
    extent = static_cast<size_t>(it - extent_starts_.begin()) - 1;
  }
  while (done < data.size()) {
    if (failed_.load(std::memory_order_relaxed)) return;
    const uint64_t pos = offset + done;
    uint64_t at = pos;
    size_t len = data.size() - done;
    if (!node_.sparse.empty()) {
      while (extent < node_.sparse.size() &&
             pos >= extent_starts_[extent] + node_.sparse[extent].length)
        ++extent;
      if (extent >= node_.sparse.size()) return;  // content past the extents: nowhere to go
      const uint64_t into = pos - extent_starts_[extent];
      at = node_.sparse[extent].offset + into;
      len = static_cast<size_t>(std::min<uint64_t>(len, node_.sparse[extent].length - into));
    }
    ssize_t n = pwrite(fd_.get(), data.data() + done, len, static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      std::lock_guard lock(mu_);
      if (write_error_.ok()) write_error_ = ErrnoStatus(errno, "write");
      failed_ = true;
      return;
    }
    done += static_cast<size_t>(n);
    written_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
  }
}

void RestoredFile::Damaged(const Status& cause) {
  std::lock_guard lock(mu_);
  if (damage_.ok()) damage_ = cause;
}

RestoredFile::Outcome RestoredFile::Finish() {
  Outcome out;
  out.written = written_.load();
  {
    std::lock_guard lock(mu_);
    out.damage = damage_;
    if (!write_error_.ok()) out.problems.push_back(write_error_);
  }
  if (node_.sparse.empty() && !failed_ &&
      ftruncate(fd_.get(), static_cast<off_t>(node_.size)) != 0)
    out.problems.push_back(ErrnoStatus(errno, "truncate"));
  fd_.Reset();
  Status s = fsmeta::ApplyMetadata(dir_->get(), node_);
  if (!s.ok()) out.problems.push_back(s);
  return out;
}

}  // namespace coffre::restore
