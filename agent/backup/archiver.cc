#include "agent/backup/archiver.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>

#include "agent/backup/backup_paths.h"
#include "agent/backup/blob_saver.h"
#include "agent/backup/dir_scanner.h"
#include "agent/backup/file_chunker.h"
#include "agent/backup/prefetcher.h"
#include "agent/fsmeta/node_reader.h"
#include "agent/util/fd.h"
#include "core/base/thread_pool.h"

namespace coffre::backup {

namespace {

using format::Node;
using format::NodeType;
using format::Tree;

uint64_t LinkGroup(uint64_t device, uint64_t inode) {
  uint64_t z = device * 0x9e3779b97f4a7c15ULL + inode;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return z == 0 ? 1 : z;
}

class Walker {
 public:
  Walker(repo::Repository& repo, const BackupOptions& options, BlobSaver& saver,
         ListingPrefetcher* listings, const std::function<void(const BackupProgress&)>& progress)
      : repo_(repo), options_(options), saver_(saver), progress_cb_(progress),
        hasher_(repo.NewHasher()),
        chunker_(repo.config().chunker,
                 chunker::DeriveGearTable(repo.keys().chunker_key)),
        file_chunker_(&chunker_),
        scanner_(
            repo, [this](const Node& node, const Node* parent) { return Unchanged(node, parent); },
            listings, kScanThreads, kMaxPendingScans) {}

  // The tree of virtual directory `dir` at `path`; `parent`: the parent
  // snapshot's tree of the same folder.
  Result<BlobId> SaveVirtual(const std::string& path, const VirtualDir& dir,
                             std::optional<BlobId> parent);
  format::SnapshotStats stats() const { return stats_; }

 private:
  // Scans decrypt trees and consult the index: CPU work, one thread a core.
  // (The disk is kept busy by the ListingPrefetcher's threads.)
  static constexpr size_t kScanThreads = 2;
  static constexpr size_t kMaxPendingScans = 64;
  // How many of a directory's sub-directories are scanned ahead.
  static constexpr size_t kScanAhead = 8;

  Result<BlobId> SaveDirContents(ScannedDir dir, const std::string& path);
  // A backup target named directly (not found by listing a directory):
  // the saved node, or nullopt if it was skipped with a warning.
  Result<std::optional<Node>> SaveTarget(const SharedDirFd& dirfd, const std::string& path,
                                         Node stat, Node* parent);
  // A scanned directory's node with its subtree saved; nullopt if skipped.
  Result<std::optional<Node>> SaveDir(ScannedDir sub, const std::string& path, Node node);
  // The change cache: true if the file can reuse the parent's content.
  bool Unchanged(const Node& node, const Node* parent) const;
  // Fills a file's content (and counts it); a fatal error, or OK with
  // *skipped set when a per-file problem was warned. An unchanged file takes
  // its content, holes and xattrs from `parent` (they are moved out of it).
  Status SaveFile(int dirfd, const std::string& path, Node& node, Node* parent,
                  bool unchanged, Prefetcher* prefetcher, bool* skipped);
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
  DirScanner scanner_;  // last: its threads stop before the rest goes
};

// The parent snapshot's tree of a directory node, if it has one.
std::optional<BlobId> SubtreeOf(const Node* parent) {
  if (!parent || parent->type != NodeType::kDir) return std::nullopt;
  return parent->subtree;
}

Result<BlobId> Walker::SaveTree(Tree tree) {
  ASSIGN_OR_RETURN(Bytes encoded, format::EncodeTree(std::move(tree)));
  BlobId id(hasher_->Compute(encoded));
  saver_.Save(format::BlobType::kTree, id, std::move(encoded));
  RETURN_IF_ERROR(saver_.error());
  return id;
}

Result<BlobId> Walker::SaveVirtual(const std::string& path, const VirtualDir& dir,
                                   std::optional<BlobId> parent) {
  UniqueFd opened(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!opened.valid()) return Err(ErrnoStatus(errno, "open " + path));
  auto fd = std::make_shared<const UniqueFd>(std::move(opened));
  if (dir.is_target) {
    ASSIGN_OR_RETURN(Node self, fsmeta::ReadNodeStat(fd->get(), "."));
    ScannedDir scanned = scanner_.Scan({fd, ".", path, self.device, self.inode, parent});
    if (!scanned.error.ok()) return Err(scanned.error.WithContext(path));
    return SaveDirContents(std::move(scanned), path);
  }

  std::optional<Tree> parent_tree;
  if (parent) {
    auto tree = repo_.LoadTree(*parent);
    if (tree) parent_tree = std::move(*tree);  // else no cache: files are read, nothing lost
  }
  Tree tree;
  for (const auto& [name, child] : dir.children) {
    const std::string child_path = JoinPath(path, name);
    Node* parent_node = parent_tree ? format::FindNode(*parent_tree, name) : nullptr;
    if (child.is_target) {
      auto stat = fsmeta::ReadNodeStat(fd->get(), name);
      if (!stat) {
        Warn(child_path, stat.error());
        continue;
      }
      ASSIGN_OR_RETURN(std::optional<Node> node,
                       SaveTarget(fd, child_path, std::move(*stat), parent_node));
      if (node) tree.nodes.push_back(std::move(*node));
      continue;
    }
    // A folder on the way to a target: its metadata, and only the children
    // that lead to targets.
    auto node = fsmeta::ReadNode(fd->get(), name);
    if (!node) {
      Warn(child_path, node.error());
      continue;
    }
    if (node->type != NodeType::kDir) {
      Warn(child_path, InvalidArgumentError("not a directory"));
      continue;
    }
    ASSIGN_OR_RETURN(node->subtree, SaveVirtual(child_path, child, SubtreeOf(parent_node)));
    ++stats_.dirs;
    tree.nodes.push_back(std::move(*node));
  }
  return SaveTree(std::move(tree));
}

Result<std::optional<Node>> Walker::SaveTarget(const SharedDirFd& dirfd, const std::string& path,
                                               Node stat, Node* parent) {
  Node node = std::move(stat);
  if (node.type == NodeType::kDir) {
    ScannedDir scanned =
        scanner_.Scan({dirfd, node.name, path, node.device, node.inode, SubtreeOf(parent)});
    return SaveDir(std::move(scanned), path, std::move(node));
  }
  if (node.type == NodeType::kFile) {
    bool skipped = false;
    RETURN_IF_ERROR(SaveFile(dirfd->get(), path, node, parent, Unchanged(node, parent), nullptr,
                             &skipped));
    if (skipped) return std::optional<Node>();
    return std::optional<Node>(std::move(node));
  }
  auto xattrs = fsmeta::ReadXattrs(dirfd->get(), node.name);
  if (!xattrs) {
    Warn(path, xattrs.error());
    return std::optional<Node>();
  }
  node.xattrs = std::move(*xattrs);
  return std::optional<Node>(std::move(node));
}

Result<std::optional<Node>> Walker::SaveDir(ScannedDir sub, const std::string& path, Node node) {
  if (!sub.error.ok()) {
    Warn(path, sub.error);
    return std::optional<Node>();
  }
  node.xattrs = std::move(sub.xattrs);
  ASSIGN_OR_RETURN(node.subtree, SaveDirContents(std::move(sub), path));
  ++stats_.dirs;
  ++progress_.dirs;
  return std::optional<Node>(std::move(node));
}

Result<BlobId> Walker::SaveDirContents(ScannedDir dir, const std::string& path) {
  Tree tree;
  if (!dir.list_error.ok()) {
    Warn(path, dir.list_error);
    return SaveTree(std::move(tree));
  }
  for (const auto& [name, error] : dir.skipped) Warn(JoinPath(path, name), error);

  // The files that will be read are read ahead while earlier ones are
  // chunked; the sub-directories are scanned ahead while this one is walked.
  std::vector<std::pair<std::string, uint64_t>> to_read;
  std::vector<size_t> subdirs;
  for (size_t i = 0; i < dir.nodes.size(); ++i) {
    const Node& node = dir.nodes[i];
    if (node.type == NodeType::kFile && node.size > 0 && !dir.unchanged[i])
      to_read.emplace_back(node.name, node.size);
    if (node.type == NodeType::kDir) subdirs.push_back(i);
  }
  Prefetcher prefetcher(dir.fd->get(), std::move(to_read));
  std::vector<DirScanner::Ticket> scans(dir.nodes.size());
  size_t subdirs_done = 0;
  size_t next_scan = 0;
  auto scan_ahead = [&] {
    next_scan = std::max(next_scan, subdirs_done);
    while (next_scan < subdirs.size() && next_scan < subdirs_done + kScanAhead) {
      const size_t i = subdirs[next_scan];
      const Node& sub = dir.nodes[i];
      scans[i] = scanner_.Start({dir.fd, sub.name, JoinPath(path, sub.name), sub.device,
                                 sub.inode, SubtreeOf(dir.ParentOf(i))});
      if (!scans[i]) break;  // enough scans pending: this one is scanned when reached
      ++next_scan;
    }
  };
  scan_ahead();

  for (size_t i = 0; i < dir.nodes.size(); ++i) {
    RETURN_IF_ERROR(CheckFatal());
    Node& node = dir.nodes[i];
    const std::string child_path = JoinPath(path, node.name);
    Node* parent = dir.ParentOf(i);
    if (node.type == NodeType::kDir) {
      ScannedDir sub = scans[i] ? scanner_.Finish(scans[i])
                                : scanner_.Scan({dir.fd, node.name, child_path, node.device,
                                                 node.inode, SubtreeOf(parent)});
      scans[i].reset();
      ++subdirs_done;
      scan_ahead();
      ASSIGN_OR_RETURN(std::optional<Node> saved, SaveDir(std::move(sub), child_path,
                                                          std::move(node)));
      if (saved) tree.nodes.push_back(std::move(*saved));
      continue;
    }
    if (node.type == NodeType::kFile) {
      bool skipped = false;
      RETURN_IF_ERROR(SaveFile(dir.fd->get(), child_path, node, parent, dir.unchanged[i],
                               &prefetcher, &skipped));
      if (skipped) continue;
    }
    tree.nodes.push_back(std::move(node));
  }
  return SaveTree(std::move(tree));
}

bool Walker::Unchanged(const Node& node, const Node* parent) const {
  return !options_.force && parent && parent->type == NodeType::kFile &&
         parent->size == node.size && parent->mtime_ns == node.mtime_ns &&
         parent->ctime_ns == node.ctime_ns && parent->inode == node.inode &&
         repo_.index().HasAll(parent->content);
}

Status Walker::SaveFile(int dirfd, const std::string& path, Node& node, Node* parent,
                        bool unchanged, Prefetcher* prefetcher, bool* skipped) {
  if (node.nlink > 1) {
    node.link_group = LinkGroup(node.device, node.inode);
    auto it = links_.find(node.link_group);
    if (it != links_.end()) {  // another name of an inode already read
      node.content = it->second.content;
      node.sparse = it->second.sparse;
      node.xattrs = it->second.xattrs;
      return Counted(path, node);
    }
  }
  // The change cache: same size, mtime, ctime and inode as in the parent
  // snapshot, and every chunk still indexed: reuse the chunk list unread,
  // and the xattrs too (changing one changes the ctime).
  if (unchanged) {
    node.content = std::move(parent->content);
    node.sparse = std::move(parent->sparse);
    node.xattrs = std::move(parent->xattrs);
  } else {
    UniqueFd fd = prefetcher ? prefetcher->Take(node.name) : UniqueFd();
    if (!fd.valid()) fd = UniqueFd(OpenForBackup(dirfd, node.name));
    if (!fd.valid()) {
      Warn(path, ErrnoStatus(errno, "open"));
      *skipped = true;
      return Status::Ok();
    }
    auto xattrs = fsmeta::ReadXattrsOfFd(fd.get(), node.name);
    if (!xattrs) {
      Warn(path, xattrs.error());
      *skipped = true;
      return Status::Ok();
    }
    node.xattrs = std::move(*xattrs);
    auto extents = fsmeta::FindDataExtents(fd.get(), node.size);
    if (!extents) {
      Warn(path, extents.error());
      *skipped = true;
      return Status::Ok();
    }
    node.sparse = std::move(*extents);
    bool fatal = false;
    Status s = file_chunker_.Run(
        fd.get(), node.size, node.sparse, options_.cancel, [&](ByteView chunk) -> Status {
          BlobId id(hasher_->Compute(chunk));
          node.content.push_back(id);
          saver_.Save(format::BlobType::kData, id, Bytes(chunk.begin(), chunk.end()));
          Status e = saver_.error();
          if (!e.ok()) fatal = true;
          return e;
        });
    if (!s.ok()) {
      if (fatal || s.code() == ErrorCode::kCancelled) return s;
      Warn(path, s);
      *skipped = true;
      return Status::Ok();
    }
  }
  if (node.link_group) links_[node.link_group] = Linked{node.content, node.sparse, node.xattrs};
  return Counted(path, node);
}

// The latest snapshot of the same host and paths, for the change cache.
std::optional<format::Snapshot> FindParent(repo::Repository& repo, const std::string& host,
                                           const std::vector<std::string>& paths,
                                           std::optional<ObjectId>* parent_id) {
  auto all = repo.ListSnapshots();
  if (!all) return std::nullopt;
  for (auto it = all->rbegin(); it != all->rend(); ++it) {
    if (it->snapshot.host == host && it->snapshot.paths == paths) {
      *parent_id = it->id;
      return it->snapshot;
    }
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<ListingPrefetcher> StartListing(const std::vector<std::string>& paths) {
  auto normal = NormalizePaths(paths);
  if (!normal) return nullptr;
  return std::make_unique<ListingPrefetcher>(OutermostPaths(*normal));
}

Result<BackupResult> RunBackup(repo::Repository& repo, const BackupOptions& options,
                               const std::function<void(const BackupProgress&)>& progress) {
  const auto started = std::chrono::steady_clock::now();
  format::Snapshot snapshot;
  snapshot.time_ns = repo::NowNs();
  snapshot.host = options.host.empty() ? repo::HostName() : options.host;
  snapshot.user = repo::UserNameOfProcess();
  snapshot.tags = options.tags;
  snapshot.program_version = "coffre 0.1.0";
  ASSIGN_OR_RETURN(snapshot.paths, NormalizePaths(options.paths));
  if (snapshot.paths.empty()) return Err(InvalidArgumentError("no path to back up"));

  RETURN_IF_ERROR(repo.LoadIndex(options.warn));
  ASSIGN_OR_RETURN(size_t reused, repo.IndexOrphanPacks([&](const std::string& m) {
    if (options.warn) options.warn("skipping unreadable pack: " + m);
  }));
  (void)reused;

  std::optional<format::Snapshot> parent;
  if (options.parent) {
    ASSIGN_OR_RETURN(format::Snapshot p, repo.LoadSnapshot(*options.parent));
    parent = std::move(p);
    snapshot.parent = options.parent;
  } else if (!options.force) {
    parent = FindParent(repo, snapshot.host, snapshot.paths, &snapshot.parent);
  }
  std::optional<BlobId> parent_root;
  if (parent && !options.force) parent_root = parent->root;

  int level = options.compression_level >= 0 ? options.compression_level
                                             : repo.config().compression_level;
  repo::PackUploader uploader(&repo, repo::PackUploader::kDefaultPackSize,
                              repo.backend().ParallelWrites());
  size_t workers = DefaultConcurrency();
  BlobSaver saver(&uploader, level, workers, 2 * workers);
  std::unique_ptr<ListingPrefetcher> own_listings;
  ListingPrefetcher* listings = options.listings;
  if (!listings) {
    own_listings = std::make_unique<ListingPrefetcher>(OutermostPaths(snapshot.paths));
    listings = own_listings.get();
  }
  Walker walker(repo, options, saver, listings, progress);
  auto root = walker.SaveVirtual("/", BuildVirtualRoot(snapshot.paths), parent_root);
  Status finished = saver.Finish();
  Status flushed = uploader.Flush();
  if (!root) return Err(root.error());
  RETURN_IF_ERROR(finished);
  RETURN_IF_ERROR(flushed);

  snapshot.root = *root;
  snapshot.stats = walker.stats();
  snapshot.stats.new_bytes = uploader.bytes_stored();
  snapshot.stats.duration_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
          .count());
  if (options.cancel && options.cancel->load()) return Err(CancelledError("interrupted"));
  ASSIGN_OR_RETURN(ObjectId id, repo.SaveSnapshot(snapshot));
  return BackupResult{id, std::move(snapshot)};
}

}  // namespace coffre::backup
