// Walker: the walk of one backup, directory by directory, on the calling
// thread: it reads entries (with DirScanner's help), decides through the
// change cache which files to read, chunks them into BlobSaver, and saves a
// tree blob per directory. Command outputs (dumps) become files of the
// virtual root. Used by RunBackup (archiver.h), which owns the pipeline
// around it. Thread-safety: one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/backup/archiver.h"
#include "agent/backup/backup_paths.h"
#include "agent/backup/blob_saver.h"
#include "agent/backup/dir_scanner.h"
#include "agent/backup/exclude_rules.h"
#include "agent/backup/file_chunker.h"
#include "agent/backup/prefetcher.h"

namespace coffre::backup {

class Walker {
 public:
  // `excludes` (null: nothing excluded) must be the filter `listings` uses;
  // `paths`: the backup paths on disk (NormalizePaths).
  Walker(repo::Repository& repo, const BackupOptions& options,
         const std::vector<std::string>& paths, BlobSaver& saver, ListingPrefetcher* listings,
         std::shared_ptr<const ExcludeFilter> excludes,
         const std::function<void(const BackupProgress&)>& progress)
      : repo_(repo),
        options_(options),
        saver_(saver),
        progress_cb_(progress),
        hasher_(repo.NewHasher()),
        chunker_(repo.config().chunker, chunker::DeriveGearTable(repo.keys().chunker_key)),
        file_chunker_(&chunker_),
        one_file_system_(excludes && excludes->one_file_system()),
        paths_(paths.begin(), paths.end()),
        scanner_(
            repo, [this](const Node& node, const Node* parent) { return Unchanged(node, parent); },
            listings, kScanThreads, kMaxPendingScans, std::move(excludes)) {}

  // Runs the commands of options.commands, storing their output, and keeps
  // their file nodes for SaveVirtual. The first failure is returned.
  Status RunCommands();
  // The tree of virtual directory `dir` at `path`; `parent`: the parent
  // snapshot's tree of the same folder.
  Result<BlobId> SaveVirtual(const std::string& path, const VirtualDir& dir,
                             std::optional<BlobId> parent);
  format::SnapshotStats stats() const { return stats_; }
  // What the parent snapshot held, reported with the progress as the
  // likely total (progress then has a percentage and an ETA).
  void ExpectTotals(uint64_t files, uint64_t bytes) {
    progress_.expected_files = files;
    progress_.expected_bytes = bytes;
  }

 private:
  // Scans decrypt trees and consult the index: CPU work, one thread a core.
  // (The disk is kept busy by the ListingPrefetcher's threads.)
  static constexpr size_t kScanThreads = 2;
  static constexpr size_t kMaxPendingScans = 64;
  // How many of a directory's sub-directories are scanned ahead.
  static constexpr size_t kScanAhead = 8;

  using Node = format::Node;
  using Tree = format::Tree;

  Result<BlobId> SaveDirContents(ScannedDir dir, const std::string& path);
  // A backup target named directly (not found by listing a directory):
  // the saved node, or nullopt if it was skipped with a warning.
  Result<std::optional<Node>> SaveTarget(const SharedDirFd& dirfd, const std::string& path,
                                         Node stat, Node* parent);
  // A scanned directory's node with its subtree saved; nullopt if skipped
  // or excluded.
  Result<std::optional<Node>> SaveDir(ScannedDir sub, const std::string& path, Node node);
  // A directory of another file system (one_file_system): its own metadata
  // and an empty tree; nullopt if skipped.
  Result<std::optional<Node>> SaveMountPoint(int dirfd, const std::string& path, Node node);
  // The change cache: true if the file can reuse the parent's content.
  bool Unchanged(const Node& node, const Node* parent) const;
  // Fills a file's content (and counts it); a fatal error, or OK with
  // *skipped set when a per-file problem was warned. An unchanged file takes
  // its content, holes and xattrs from `parent` (they are moved out of it).
  Status SaveFile(int dirfd, const std::string& path, Node& node, Node* parent, bool unchanged,
                  Prefetcher* prefetcher, bool* skipped);
  // Counts a saved file and reports progress.
  Status Counted(const std::string& path, const Node& node) {
    ++stats_.files;
    stats_.bytes += node.size;
    ++progress_.files;
    progress_.bytes += node.size;
    Report(path);
    return Status::Ok();
  }
  Result<BlobId> SaveTree(Tree tree);
  void Warn(const std::string& path, const Status& s) {
    ++stats_.errors;
    if (options_.warn) options_.warn(path + ": " + s.message());
  }
  Status CheckFatal() const {
    if (options_.cancel && options_.cancel->load()) return CancelledError("interrupted");
    return saver_.error();
  }
  void Report(const std::string& path) {
    if (!progress_cb_) return;
    progress_.current = path;
    progress_.bytes_read = file_chunker_.bytes_read();
    progress_cb_(progress_);
  }

  repo::Repository& repo_;
  const BackupOptions& options_;
  BlobSaver& saver_;
  BackupProgress progress_;
  std::function<void(const BackupProgress&)> progress_cb_;
  std::unique_ptr<crypto::HmacSha256> hasher_;
  chunker::Chunker chunker_;
  FileChunker file_chunker_;
  format::SnapshotStats stats_;
  struct Linked {
    std::vector<BlobId> content;
    std::vector<format::Extent> sparse;
    std::vector<format::Xattr> xattrs;
  };
  std::unordered_map<uint64_t, Linked> links_;  // by link group
  const bool one_file_system_;
  const std::set<std::string> paths_;
  std::map<std::string, Node> command_files_;  // by snapshot path, until placed
  DirScanner scanner_;                         // last: its threads stop before the rest goes
};

}  // namespace coffre::backup
