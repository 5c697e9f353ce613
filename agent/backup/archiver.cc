#include "agent/backup/archiver.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>

#include "agent/backup/backup_paths.h"
#include "agent/backup/blob_saver.h"
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

const Node* FindNode(const Tree* tree, const std::string& name) {
  if (!tree) return nullptr;
  auto it = std::lower_bound(tree->nodes.begin(), tree->nodes.end(), name,
                             [](const Node& n, const std::string& v) { return n.name < v; });
  return it != tree->nodes.end() && it->name == name ? &*it : nullptr;
}

uint64_t LinkGroup(uint64_t device, uint64_t inode) {
  uint64_t z = device * 0x9e3779b97f4a7c15ULL + inode;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return z == 0 ? 1 : z;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

class Walker {
 public:
  Walker(repo::Repository& repo, const BackupOptions& options, BlobSaver& saver,
         const std::function<void(const BackupProgress&)>& progress)
      : repo_(repo), options_(options), saver_(saver), progress_cb_(progress),
        hasher_(repo.NewHasher()),
        chunker_(repo.config().chunker,
                 chunker::DeriveGearTable(repo.keys().chunker_key)),
        file_chunker_(&chunker_) {}

  Result<BlobId> SaveVirtual(const std::string& path, const VirtualDir& dir, const Tree* parent);
  format::SnapshotStats stats() const { return stats_; }

 private:
  Result<BlobId> SaveDirContents(int dirfd, const std::string& path, const Tree* parent);
  // The saved node, or nullopt if the entry was skipped with a warning.
  // `stat`: the entry as fsmeta::ReadNodeStat read it.
  Result<std::optional<Node>> SaveEntry(int dirfd, const std::string& path, Node stat,
                                        const Node* parent, Prefetcher* prefetcher);
  // The change cache: true if the file can reuse the parent's content.
  bool Unchanged(const Node& node, const Node* parent) const;
  // OK with content filled, a fatal error, or a per-file error (warned).
  Status SaveFileContent(int dirfd, const std::string& path, Node& node, const Node* parent,
                         Prefetcher* prefetcher, bool* skipped);
  Result<BlobId> SaveTree(Tree tree);
  std::optional<Tree> LoadParentTree(const Node* parent);
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
};


std::optional<Tree> Walker::LoadParentTree(const Node* parent) {
  if (!parent || parent->type != NodeType::kDir || !parent->subtree) return std::nullopt;
  auto tree = repo_.LoadTree(*parent->subtree);
  if (!tree) return std::nullopt;  // no cache: every file is read, nothing lost
  return std::move(*tree);
}

Result<BlobId> Walker::SaveTree(Tree tree) {
  ASSIGN_OR_RETURN(Bytes encoded, format::EncodeTree(std::move(tree)));
  BlobId id(hasher_->Compute(encoded));
  saver_.Save(format::BlobType::kTree, id, std::move(encoded));
  RETURN_IF_ERROR(saver_.error());
  return id;
}

Result<BlobId> Walker::SaveVirtual(const std::string& path, const VirtualDir& dir,
                                   const Tree* parent) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Err(ErrnoStatus(errno, "open " + path));
  if (dir.is_target) return SaveDirContents(fd.get(), path, parent);

  Tree tree;
  for (const auto& [name, child] : dir.children) {
    const std::string child_path = JoinPath(path, name);
    const Node* parent_node = FindNode(parent, name);
    if (child.is_target) {
      auto stat = fsmeta::ReadNodeStat(fd.get(), name);
      if (!stat) {
        Warn(child_path, stat.error());
        continue;
      }
      ASSIGN_OR_RETURN(std::optional<Node> node,
                       SaveEntry(fd.get(), child_path, std::move(*stat), parent_node, nullptr));
      if (node) tree.nodes.push_back(std::move(*node));
      continue;
    }
    // A folder on the way to a target: its metadata, and only the children
    // that lead to targets.
    auto node = fsmeta::ReadNode(fd.get(), name);
    if (!node) {
      Warn(child_path, node.error());
      continue;
    }
    if (node->type != NodeType::kDir) {
      Warn(child_path, InvalidArgumentError("not a directory"));
      continue;
    }
    std::optional<Tree> parent_tree = LoadParentTree(parent_node);
    ASSIGN_OR_RETURN(BlobId subtree,
                     SaveVirtual(child_path, child, parent_tree ? &*parent_tree : nullptr));
    node->subtree = subtree;
    ++stats_.dirs;
    tree.nodes.push_back(std::move(*node));
  }
  return SaveTree(std::move(tree));
}

Result<BlobId> Walker::SaveDirContents(int dirfd, const std::string& path, const Tree* parent) {
  Tree tree;
  auto names = fsmeta::ListDir(dirfd);
  if (!names) {
    Warn(path, names.error());
    return SaveTree(std::move(tree));
  }
  // Every entry's metadata first, so the files that will be read are known
  // and can be read ahead while earlier ones are chunked.
  std::vector<Node> nodes;
  nodes.reserve(names->size());
  std::vector<std::pair<std::string, uint64_t>> to_read;
  for (const std::string& name : *names) {
    auto node = fsmeta::ReadNodeStat(dirfd, name);
    if (!node) {
      Warn(JoinPath(path, name), node.error());
      continue;
    }
    if (node->type == NodeType::kFile && node->size > 0 &&
        !Unchanged(*node, FindNode(parent, name)))
      to_read.emplace_back(name, node->size);
    nodes.push_back(std::move(*node));
  }
  Prefetcher prefetcher(dirfd, std::move(to_read));
  for (Node& node : nodes) {
    RETURN_IF_ERROR(CheckFatal());
    const std::string child_path = JoinPath(path, node.name);
    const Node* parent_node = FindNode(parent, node.name);
    ASSIGN_OR_RETURN(std::optional<Node> saved,
                     SaveEntry(dirfd, child_path, std::move(node), parent_node, &prefetcher));
    if (saved) tree.nodes.push_back(std::move(*saved));
  }
  return SaveTree(std::move(tree));
}

bool Walker::Unchanged(const Node& node, const Node* parent) const {
  return !options_.force && parent && parent->type == NodeType::kFile &&
         parent->size == node.size && parent->mtime_ns == node.mtime_ns &&
         parent->ctime_ns == node.ctime_ns && parent->inode == node.inode &&
         std::all_of(parent->content.begin(), parent->content.end(),
                     [&](const BlobId& id) { return repo_.index().HasBlob(id); });
}

Result<std::optional<Node>> Walker::SaveEntry(int dirfd, const std::string& path, Node stat,
                                              const Node* parent, Prefetcher* prefetcher) {
  const std::string name = stat.name;  // a copy: `stat` is moved next
  std::optional<Node> node(std::move(stat));
  if (node->type == NodeType::kDir) {
    UniqueFd fd(openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      Warn(path, ErrnoStatus(errno, "open"));
      return std::optional<Node>();
    }
    auto xattrs = fsmeta::ReadXattrsOfFd(fd.get(), name);
    if (!xattrs) {
      Warn(path, xattrs.error());
      return std::optional<Node>();
    }
    node->xattrs = std::move(*xattrs);
    std::optional<Tree> parent_tree = LoadParentTree(parent);
    ASSIGN_OR_RETURN(BlobId subtree,
                     SaveDirContents(fd.get(), path, parent_tree ? &*parent_tree : nullptr));
    node->subtree = subtree;
    ++stats_.dirs;
    ++progress_.dirs;
  } else if (node->type == NodeType::kFile) {
    bool skipped = false;
    RETURN_IF_ERROR(SaveFileContent(dirfd, path, *node, parent, prefetcher, &skipped));
    if (skipped) return std::optional<Node>();
    ++stats_.files;
    stats_.bytes += node->size;
    ++progress_.files;
    progress_.bytes += node->size;
    Report(path);
  } else {
    auto xattrs = fsmeta::ReadXattrs(dirfd, name);
    if (!xattrs) {
      Warn(path, xattrs.error());
      return std::optional<Node>();
    }
    node->xattrs = std::move(*xattrs);
  }
  return std::optional<Node>(std::move(*node));
}

Status Walker::SaveFileContent(int dirfd, const std::string& path, Node& node,
                               const Node* parent, Prefetcher* prefetcher, bool* skipped) {
  if (node.nlink > 1) {
    node.link_group = LinkGroup(node.device, node.inode);
    auto it = links_.find(node.link_group);
    if (it != links_.end()) {  // another name of an inode already read
      node.content = it->second.content;
      node.sparse = it->second.sparse;
      node.xattrs = it->second.xattrs;
      return Status::Ok();
    }
  }
  // The change cache: same size, mtime, ctime and inode as in the parent
  // snapshot, and every chunk still indexed: reuse the chunk list unread,
  // and the xattrs too (changing one changes the ctime).
  if (Unchanged(node, parent)) {
    node.content = parent->content;
    node.sparse = parent->sparse;
    node.xattrs = parent->xattrs;
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
  return Status::Ok();
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
  std::optional<Tree> parent_root;
  if (parent && !options.force) {
    auto tree = repo.LoadTree(parent->root);
    if (tree) parent_root = std::move(*tree);
  }

  int level = options.compression_level >= 0 ? options.compression_level
                                             : repo.config().compression_level;
  repo::PackUploader uploader(&repo);
  size_t workers = DefaultConcurrency();
  BlobSaver saver(&uploader, level, workers, 2 * workers);
  Walker walker(repo, options, saver, progress);
  auto root = walker.SaveVirtual("/", BuildVirtualRoot(snapshot.paths),
                                 parent_root ? &*parent_root : nullptr);
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
