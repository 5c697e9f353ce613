// RestoredFile: one file being restored, open for writing while the chunks
// of its content arrive in any order from the threads that fetch packs.
//
// Chunks are placed by their offset in the file's content; a sparse file's
// content is the concatenation of its data extents, and each chunk is cut
// along them, so holes stay holes. A chunk that cannot be read is left
// unwritten: the file is created empty, so those bytes read as zeros.
// Holds count what is still to come; whoever drops the last one finishes
// the file: its size set, closed, and its metadata applied.
// Thread-safety: Write, Damaged, Hold and Release from any thread; Finish or
// Abandon once, after the last Release.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/util/fd.h"
#include "core/format/tree.h"

namespace coffre::restore {

using DirFd = std::shared_ptr<UniqueFd>;

class RestoredFile {
 public:
  // `fd` is the new, empty file named node.name in `dir`; `path` names it
  // in reports. Starts with one hold: the planner's, dropped once every
  // chunk of the file is planned.
  RestoredFile(DirFd dir, UniqueFd fd, format::Node node, std::string path);

  const format::Node& node() const { return node_; }
  const std::string& path() const { return path_; }

  void Hold(size_t n) { holds_.fetch_add(n, std::memory_order_relaxed); }
  // Drops one hold; true for the last one, whose caller must call Finish.
  bool Release() { return holds_.fetch_sub(1, std::memory_order_acq_rel) == 1; }

  // Writes the content bytes [offset, offset + data.size()). After a write
  // error, later writes are skipped: the first error is what Finish reports.
  void Write(uint64_t offset, ByteView data);
  // The chunk at `offset` could not be read; the first cause is reported.
  void Damaged(const Status& cause);

  struct Outcome {
    uint64_t written = 0;
    Status damage;                 // the first chunk that could not be read
    std::vector<Status> problems;  // write, size or metadata errors
  };
  Outcome Finish();
  // For a restore that stops: closes the file as it is, without its size or
  // metadata, so a partly written file never looks whole.
  void Abandon() { fd_.Reset(); }

 private:
  DirFd dir_;
  UniqueFd fd_;
  format::Node node_;
  std::string path_;
  std::vector<uint64_t> extent_starts_;  // content offset of each sparse extent
  std::atomic<size_t> holds_{1};
  std::atomic<uint64_t> written_{0};
  std::mutex mu_;  // guards the statuses below
  Status damage_;
  Status write_error_;
  std::atomic<bool> failed_{false};
};

}  // namespace coffre::restore
