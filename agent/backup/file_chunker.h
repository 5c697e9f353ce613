// Reading one open regular file as a sequence of content-defined chunks.
// For a sparse file only the data extents are read, concatenated: holes
// cost no reads and no storage, and restore puts them back as holes. A
// stream of unknown length (a command's output) is cut the same way.
// Thread-safety: a FileChunker owns a buffer; one per thread.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "core/chunker/fastcdc.h"
#include "core/format/tree.h"

namespace coffre::backup {

class FileChunker {
 public:
  explicit FileChunker(const chunker::Chunker* chunker) : chunker_(chunker) {}

  // Calls `emit` with each chunk of the file, in order (the view is valid
  // only during the call). Reads `size` bytes, or the `extents` if not empty.
  // A file that shrinks while read is an I/O error naming it (a file that
  // grows is read up to `size`: the snapshot holds the size it saw).
  // kCancelled if `cancel` becomes true.
  Status Run(int fd, uint64_t size, const std::vector<format::Extent>& extents,
             const std::atomic<bool>* cancel, const std::function<Status(ByteView)>& emit);

  // Fills up to `len` bytes at `buf`; returns how many, 0 at the end.
  using ReadFn = std::function<Result<size_t>(uint8_t* buf, size_t len)>;
  // Calls `emit` with each chunk of what `read` gives until it returns 0,
  // cut exactly as Run cuts a file of the same bytes (so a dump streamed in
  // dedups against the same dump read from disk). Returns the byte count.
  // Errors of `read` and `emit` are returned as they are; kCancelled if
  // `cancel` becomes true. Holds up to two max-size chunks in memory.
  Result<uint64_t> RunStream(const ReadFn& read, const std::atomic<bool>* cancel,
                             const std::function<Status(ByteView)>& emit);

  // Bytes read from disk by this chunker so far.
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  // Fills buf_ from the current read position; returns bytes added.
  Result<size_t> Fill(int fd, const std::vector<format::Extent>& ranges);

  const chunker::Chunker* chunker_;
  Bytes buf_;
  size_t begin_ = 0;  // first unconsumed byte in buf_
  size_t end_ = 0;    // one past the last valid byte in buf_
  size_t range_ = 0;  // index in the ranges being read
  uint64_t range_pos_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace coffre::backup
