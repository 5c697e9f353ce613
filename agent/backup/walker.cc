#include "agent/backup/walker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "agent/fsmeta/node_reader.h"
#include "agent/util/fd.h"

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

// The parent snapshot's tree of a directory node, if it has one.
std::optional<BlobId> SubtreeOf(const Node* parent) {
  if (!parent || parent->type != NodeType::kDir) return std::nullopt;
  return parent->subtree;
}

}  // namespace

Result<BlobId> Walker::SaveTree(Tree tree) {
  ASSIGN_OR_RETURN(Bytes encoded, format::EncodeTree(std::move(tree)));
  BlobId id(hasher_->Compute(encoded));
  saver_.Save(format::BlobType::kTree, id, std::move(encoded));
  RETURN_IF_ERROR(saver_.error());
  return id;
}

namespace {

// A folder on the way to command files that is not on disk.
Node MadeUpDir(const std::string& name) {
  Node node;
  node.name = name;
  node.type = NodeType::kDir;
  node.mode = 0755;
  node.uid = geteuid();
  node.gid = getegid();
  node.user = fsmeta::UserName(node.uid);
  node.group = fsmeta::GroupName(node.gid);
  node.mtime_ns = node.ctime_ns = repo::NowNs();
  return node;
}

}  // namespace

Status Walker::RunCommands() {
  for (const CommandSource& source : options_.commands) {
    RETURN_IF_ERROR(CheckFatal());
    Node node;
    node.name = source.path.substr(source.path.rfind('/') + 1);
    node.type = NodeType::kFile;
    node.mode = 0600;  // a dump may hold anything: readable by its owner only
    node.uid = geteuid();
    node.gid = getegid();
    node.user = fsmeta::UserName(node.uid);
    node.group = fsmeta::GroupName(node.gid);
    auto emit = [&](ByteView chunk) -> Status {
      BlobId id(hasher_->Compute(chunk));
      node.content.push_back(id);
      saver_.Save(format::BlobType::kData, id, Bytes(chunk.begin(), chunk.end()));
      Report(source.path);
      return saver_.error();
    };
    ASSIGN_OR_RETURN(node.size,
                     RunCommandSource(source, file_chunker_, options_.cancel, emit, options_.warn));
    node.mtime_ns = node.ctime_ns = repo::NowNs();
    RETURN_IF_ERROR(Counted(source.path, node));
    command_files_[source.path] = std::move(node);
  }
  return Status::Ok();
}

Result<BlobId> Walker::SaveVirtual(const std::string& path, const VirtualDir& dir,
                                   std::optional<BlobId> parent) {
  // A folder that leads only to command files need not exist on disk.
  SharedDirFd fd;
  UniqueFd opened(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (opened.valid()) {
    fd = std::make_shared<const UniqueFd>(std::move(opened));
  } else if (LeadsToTarget(dir)) {
    return Err(ErrnoStatus(errno, "open " + path));
  }
  if (dir.is_target) {
    ASSIGN_OR_RETURN(Node self, fsmeta::ReadNodeStat(fd->get(), "."));
    ScannedDir scanned =
        scanner_.Scan({fd, ".", path, self.device, self.inode, parent, /*is_target=*/true});
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
    if (child.is_virtual_file) {
      auto made = command_files_.find(child_path);
      if (made == command_files_.end())
        return Err(InternalError("no command ran for " + child_path));
      tree.nodes.push_back(std::move(made->second));
      command_files_.erase(made);
      continue;
    }
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
    // that lead to targets. One that leads only to command files is made up
    // where the disk has no folder of that name.
    Result<Node> node =
        fd ? fsmeta::ReadNode(fd->get(), name) : Result<Node>(Err(NotFoundError("not on disk")));
    if (node && node->type != NodeType::kDir) node = Err(InvalidArgumentError("not a directory"));
    if (!node && !LeadsToTarget(child)) node = MadeUpDir(name);
    if (!node) {
      Warn(child_path, node.error());
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
    ScannedDir scanned = scanner_.Scan(
        {dirfd, node.name, path, node.device, node.inode, SubtreeOf(parent), /*is_target=*/true});
    return SaveDir(std::move(scanned), path, std::move(node));
  }
  if (node.type == NodeType::kFile) {
    bool skipped = false;
    RETURN_IF_ERROR(
        SaveFile(dirfd->get(), path, node, parent, Unchanged(node, parent), nullptr, &skipped));
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
  if (!sub.excluded_by.empty()) return std::optional<Node>();
  node.xattrs = std::move(sub.xattrs);
  ASSIGN_OR_RETURN(node.subtree, SaveDirContents(std::move(sub), path));
  ++stats_.dirs;
  ++progress_.dirs;
  return std::optional<Node>(std::move(node));
}

Result<std::optional<Node>> Walker::SaveMountPoint(int dirfd, const std::string& path, Node node) {
  auto xattrs = fsmeta::ReadXattrs(dirfd, node.name);
  if (!xattrs) {
    Warn(path, xattrs.error());
    return std::optional<Node>();
  }
  node.xattrs = std::move(*xattrs);
  ASSIGN_OR_RETURN(node.subtree, SaveTree(Tree{}));
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
  // --one-file-system: a directory of another device than this one's is a
  // mount point, kept as an empty directory, unless it is a backup path
  // itself (`-x / /home`: /home is walked).
  auto is_mount_point = [&](const Node& node) {
    return one_file_system_ && node.type == NodeType::kDir && node.device != dir.device &&
           !paths_.count(JoinPath(path, node.name));
  };

  // The files that will be read are read ahead while earlier ones are
  // chunked; the sub-directories are scanned ahead while this one is walked.
  std::vector<std::pair<std::string, uint64_t>> to_read;
  std::vector<size_t> subdirs;
  for (size_t i = 0; i < dir.nodes.size(); ++i) {
    const Node& node = dir.nodes[i];
    if (node.type == NodeType::kFile && node.size > 0 && !dir.unchanged[i])
      to_read.emplace_back(node.name, node.size);
    if (node.type == NodeType::kDir && !is_mount_point(node)) subdirs.push_back(i);
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
      scans[i] = scanner_.Start({dir.fd, sub.name, JoinPath(path, sub.name), sub.device, sub.inode,
                                 SubtreeOf(dir.ParentOf(i))});
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
    if (is_mount_point(node)) {
      ASSIGN_OR_RETURN(std::optional<Node> saved,
                       SaveMountPoint(dir.fd->get(), child_path, std::move(node)));
      if (saved) tree.nodes.push_back(std::move(*saved));
      continue;
    }
    if (node.type == NodeType::kDir) {
      ScannedDir sub = scans[i] ? scanner_.Finish(scans[i])
                                : scanner_.Scan({dir.fd, node.name, child_path, node.device,
                                                 node.inode, SubtreeOf(parent)});
      scans[i].reset();
      ++subdirs_done;
      scan_ahead();
      ASSIGN_OR_RETURN(std::optional<Node> saved,
                       SaveDir(std::move(sub), child_path, std::move(node)));
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

}  // namespace coffre::backup
