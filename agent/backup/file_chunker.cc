#include "agent/backup/file_chunker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace coffre::backup {

Result<size_t> FileChunker::Fill(int fd, const std::vector<format::Extent>& ranges) {
  size_t added = 0;
  while (end_ < buf_.size() && range_ < ranges.size()) {
    const format::Extent& r = ranges[range_];
    if (range_pos_ >= r.length) {
      ++range_;
      range_pos_ = 0;
      continue;
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf_.size() - end_, r.length - range_pos_));
    ssize_t n = pread(fd, buf_.data() + end_, want, static_cast<off_t>(r.offset + range_pos_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Err(ErrnoStatus(errno, "read"));
    }
    if (n == 0) return Err(IoError("file shrank while it was read"));
    end_ += static_cast<size_t>(n);
    range_pos_ += static_cast<uint64_t>(n);
    added += static_cast<size_t>(n);
    bytes_read_ += static_cast<uint64_t>(n);
  }
  return added;
}

Status FileChunker::Run(int fd, uint64_t size, const std::vector<format::Extent>& extents,
                        const std::atomic<bool>* cancel,
                        const std::function<Status(ByteView)>& emit) {
  std::vector<format::Extent> whole;
  const std::vector<format::Extent>* ranges = &extents;
  uint64_t data_size = 0;
  if (extents.empty()) {
    whole.push_back({0, size});
    ranges = &whole;
    data_size = size;
  } else {
    for (const auto& e : extents) data_size += e.length;
  }
  if (data_size == 0) return Status::Ok();
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  const size_t max = chunker_->params().max_size;
  // Small files need a small buffer; big ones two max-size chunks, so a cut
  // can always be searched over a full window.
  size_t want = static_cast<size_t>(std::min<uint64_t>(data_size, 2 * static_cast<uint64_t>(max)));
  if (buf_.size() < want) buf_.resize(want);
  begin_ = end_ = 0;
  range_ = 0;
  range_pos_ = 0;
  uint64_t remaining = data_size;

  while (remaining > 0) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return CancelledError("interrupted");
    if (end_ - begin_ < max && end_ - begin_ < remaining) {
      // Slide the unconsumed tail to the front, then top up the buffer.
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      ASSIGN_OR_RETURN(size_t added, Fill(fd, *ranges));
      (void)added;
    }
    size_t available = std::min<uint64_t>(end_ - begin_, remaining);
    if (available == 0) return IoError("file shrank while it was read");
    ByteView window(buf_.data() + begin_, available);
    size_t cut = chunker_->FindCut(window);
    RETURN_IF_ERROR(emit(window.first(cut)));
    begin_ += cut;
    remaining -= cut;
  }
  return Status::Ok();
}

Result<uint64_t> FileChunker::RunStream(const ReadFn& read, const std::atomic<bool>* cancel,
                                        const std::function<Status(ByteView)>& emit) {
  const size_t max = chunker_->params().max_size;
  if (buf_.size() < 2 * max) buf_.resize(2 * max);
  begin_ = end_ = 0;
  uint64_t total = 0;
  bool eof = false;
  for (;;) {
    if (cancel && cancel->load(std::memory_order_relaxed))
      return Err(CancelledError("interrupted"));
    // A cut is only final when the window holds a whole max-size chunk or
    // the rest of the stream, as Run guarantees for a file.
    if (!eof && end_ - begin_ < max) {
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      while (!eof && end_ < max) {
        ASSIGN_OR_RETURN(size_t n, read(buf_.data() + end_, buf_.size() - end_));
        if (n == 0) eof = true;
        end_ += n;
        total += n;
        bytes_read_ += n;
      }
    }
    if (end_ == begin_) return total;
    ByteView window(buf_.data() + begin_, end_ - begin_);
    size_t cut = chunker_->FindCut(window);
    RETURN_IF_ERROR(emit(window.first(cut)));
    begin_ += cut;
  }
}

}  // namespace coffre::backup
