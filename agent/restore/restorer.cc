#include "agent/restore/restorer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/filesystem.hpp>

#include "agent/fsmeta/node_writer.h"
#include "agent/repo/repo_lock.h"
#include "agent/util/fd.h"
#include "core/base/thread_pool.h"

namespace coffre::restore {

namespace {

using format::Node;
using format::NodeType;
using DirFd = std::shared_ptr<UniqueFd>;

// Which part of the snapshot to restore: a trie of included paths. A node
// with `all` set is restored with everything below it.
struct Filter {
  std::map<std::string, Filter> children;
  bool all = false;
  bool found = false;  // the snapshot holds this path
};

// The included paths that the snapshot does not hold.
void Missing(const Filter& f, const std::string& path, std::vector<std::string>* out) {
  if (!f.found && !path.empty()) {
    out->push_back(path);
    return;
  }
  for (const auto& [name, child] : f.children) Missing(child, path + "/" + name, out);
}

Result<Filter> BuildFilter(const std::vector<std::string>& include) {
  Filter root;
  if (include.empty()) {
    root.all = true;
    return root;
  }
  for (const std::string& path : include) {
    if (path.empty() || path[0] != '/')
      return Err(InvalidArgumentError("'" + path + "' must be an absolute path in the snapshot"));
    Filter* f = &root;
    size_t pos = 1;
    while (pos < path.size()) {
      size_t slash = path.find('/', pos);
      if (slash == std::string::npos) slash = path.size();
      if (slash > pos) f = &f->children[path.substr(pos, slash - pos)];
      pos = slash + 1;
    }
    f->all = true;
  }
  return root;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

class TreeRestorer {
 public:
  TreeRestorer(repo::Repository& repo, const RestoreOptions& options, ThreadPool& pool)
      : repo_(repo), options_(options), pool_(pool) {}

  Status RestoreTree(const DirFd& dir, const BlobId& tree_id, const std::string& path,
                     Filter* filter);
  RestoreStats stats() {
    std::lock_guard lock(mu_);
    return stats_;
  }

 private:
  Status RestoreNode(const DirFd& dir, const Node& node, const std::string& path,
                     Filter* filter);
  Status RestoreDir(const DirFd& dir, const Node& node, const std::string& path,
                    Filter* filter);
  void RestoreFile(const DirFd& dir, const Node& node, const std::string& path);
  void WriteContent(const DirFd& dir, std::shared_ptr<UniqueFd> fd, const Node& node,
                    const std::string& path);
  void Problem(const std::string& path, const Status& s, bool damaged = false) {
    std::lock_guard lock(mu_);
    ++(damaged ? stats_.damaged : stats_.problems);
    if (options_.warn) options_.warn(path + ": " + s.message());
  }

  repo::Repository& repo_;
  const RestoreOptions& options_;
  ThreadPool& pool_;
  std::mutex mu_;
  RestoreStats stats_;
  struct FirstLink {
    DirFd dir;
    std::string name;
  };
  std::unordered_map<uint64_t, FirstLink> links_;  // walk thread only
};

Status TreeRestorer::RestoreTree(const DirFd& dir, const BlobId& tree_id,
                                 const std::string& path, Filter* filter) {
  ASSIGN_OR_RETURN(format::Tree tree, repo_.LoadTree(tree_id));
  for (const Node& node : tree.nodes) {
    if (options_.cancel && options_.cancel->load()) return CancelledError("interrupted");
    Filter* child = nullptr;
    if (!filter->all) {
      auto it = filter->children.find(node.name);
      if (it == filter->children.end()) continue;
      child = &it->second;
      child->found = true;
    } else {
      child = filter;
    }
    RETURN_IF_ERROR(RestoreNode(dir, node, JoinPath(path, node.name), child));
  }
  return Status::Ok();
}

Status TreeRestorer::RestoreNode(const DirFd& dir, const Node& node, const std::string& path,
                                 Filter* filter) {
  // The tree decoder already refuses these; a second check costs nothing and
  // keeps this function safe on its own.
  if (!format::IsSafeName(node.name))
    return CorruptionError("refusing to restore the unsafe name in " + path);
  if (node.type == NodeType::kDir) return RestoreDir(dir, node, path, filter);
  if (!filter->all) return Status::Ok();  // only directories lead to includes
  if (node.type == NodeType::kFile) {
    RestoreFile(dir, node, path);
    return Status::Ok();
  }
  Status s = fsmeta::CreateSpecial(dir->get(), node);
  if (s.ok()) s = fsmeta::ApplyMetadata(dir->get(), node);
  if (!s.ok()) {
    Problem(path, s);
  } else {
    std::lock_guard lock(mu_);
    ++stats_.others;
  }
  return Status::Ok();
}

Status TreeRestorer::RestoreDir(const DirFd& dir, const Node& node, const std::string& path,
                                Filter* filter) {
  if (mkdirat(dir->get(), node.name.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoStatus(errno, "create directory " + path);
  auto fd = std::make_shared<UniqueFd>(
      openat(dir->get(), node.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd->valid()) {
    // Something else is in the way (a file or a symlink): replace it.
    if (unlinkat(dir->get(), node.name.c_str(), 0) != 0 ||
        mkdirat(dir->get(), node.name.c_str(), 0700) != 0)
      return ErrnoStatus(errno, "create directory " + path);
    *fd = UniqueFd(openat(dir->get(), node.name.c_str(),
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd->valid()) return ErrnoStatus(errno, "open directory " + path);
  }
  if (!node.subtree) return CorruptionError(path + ": directory without a tree");
  RETURN_IF_ERROR(RestoreTree(fd, *node.subtree, path, filter));
  {
    std::lock_guard lock(mu_);
    ++stats_.dirs;
  }
  // Entries are all created (file contents may still be in flight, which
  // does not touch the directory), so its mtime can be set now.
  Status s = fsmeta::ApplyMetadata(dir->get(), node);
  if (!s.ok()) Problem(path, s);
  return Status::Ok();
}

void TreeRestorer::RestoreFile(const DirFd& dir, const Node& node, const std::string& path) {
  const char* name = node.name.c_str();
  if (node.link_group) {
    auto it = links_.find(node.link_group);
    if (it != links_.end()) {
      unlinkat(dir->get(), name, 0);
      if (linkat(it->second.dir->get(), it->second.name.c_str(), dir->get(), name, 0) == 0) {
        std::lock_guard lock(mu_);
        ++stats_.files;
        return;
      }
      // Linking failed (another filesystem?): restore the content instead.
    }
  }
  // Whatever is in the way goes first, so a fresh inode is created: writing
  // through an existing file could change a hard link that leads outside
  // the target, and O_EXCL with O_NOFOLLOW refuses anything planted since.
  if (unlinkat(dir->get(), name, 0) != 0 && (errno == EISDIR || errno == EPERM))
    unlinkat(dir->get(), name, AT_REMOVEDIR);
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  auto fd = std::make_shared<UniqueFd>(openat(dir->get(), name, flags, 0600));
  if (!fd->valid()) {
    Problem(path, ErrnoStatus(errno, "create"));
    return;
  }
  if (node.link_group) links_[node.link_group] = FirstLink{dir, node.name};
  pool_.Submit([this, dir, fd, node, path] { WriteContent(dir, fd, node, path); });
}

void TreeRestorer::WriteContent(const DirFd& dir, std::shared_ptr<UniqueFd> fd,
                                const Node& node, const std::string& path) {
  // Sparse files: set the size first, then write only the data extents.
  if (!node.sparse.empty() && ftruncate(fd->get(), static_cast<off_t>(node.size)) != 0) {
    Problem(path, ErrnoStatus(errno, "truncate"));
    return;
  }
  size_t extent = 0;
  uint64_t extent_pos = 0;  // bytes of the current extent already written
  uint64_t offset = 0;      // file offset of the next byte (non-sparse)
  uint64_t written = 0;
  Status first_damage;
  for (const BlobId& id : node.content) {
    auto data = repo_.LoadBlob(id);
    Bytes zeros;
    if (!data) {
      if (first_damage.ok()) first_damage = data.error();
      // Keep offsets right for the rest of the file: the damaged chunk's
      // length is known from the index when the pack alone is bad.
      auto loc = repo_.index().Find(id);
      if (!loc) break;
      zeros.assign(loc->entry.raw_len, 0);
    }
    ByteView chunk = data ? ByteView(*data) : ByteView(zeros);
    size_t done = 0;
    while (done < chunk.size()) {
      uint64_t at = offset;
      size_t len = chunk.size() - done;
      if (!node.sparse.empty()) {
        while (extent < node.sparse.size() && extent_pos >= node.sparse[extent].length) {
          ++extent;
          extent_pos = 0;
        }
        if (extent >= node.sparse.size()) break;
        at = node.sparse[extent].offset + extent_pos;
        len = static_cast<size_t>(std::min<uint64_t>(len, node.sparse[extent].length - extent_pos));
      }
      ssize_t n = pwrite(fd->get(), chunk.data() + done, len, static_cast<off_t>(at));
      if (n < 0) {
        if (errno == EINTR) continue;
        Problem(path, ErrnoStatus(errno, "write"));
        return;
      }
      done += static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
      extent_pos += static_cast<uint64_t>(n);
      written += static_cast<uint64_t>(n);
    }
  }
  if (!first_damage.ok()) Problem(path, first_damage, /*damaged=*/true);
  if (node.sparse.empty() && offset != node.size &&
      ftruncate(fd->get(), static_cast<off_t>(node.size)) != 0) {
    Problem(path, ErrnoStatus(errno, "truncate"));
  }
  fd->Reset();
  Status s = fsmeta::ApplyMetadata(dir->get(), node);
  if (!s.ok()) Problem(path, s);
  std::lock_guard lock(mu_);
  ++stats_.files;
  stats_.bytes += written;
}

}  // namespace

Result<RestoreStats> RunRestore(repo::Repository& repo, const format::Snapshot& snapshot,
                                const RestoreOptions& options) {
  ASSIGN_OR_RETURN(Filter filter, BuildFilter(options.include));
  if (options.target.empty()) return Err(InvalidArgumentError("no restore target given"));
  boost::system::error_code ec;
  boost::filesystem::create_directories(options.target, ec);
  if (ec) return Err(IoError("cannot create " + options.target + ": " + ec.message()));
  auto target = std::make_shared<UniqueFd>(
      open(options.target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!target->valid()) return Err(ErrnoStatus(errno, "open " + options.target));

  // A read lock keeps a prune from deleting packs this restore reads; a
  // vault token that may only read cannot take one, and the restore goes on.
  auto lock = repo::RepoLock::Acquire(repo, format::LockKind::kRead);
  if (!lock && lock.error().code() != ErrorCode::kAuthFailed &&
      lock.error().code() != ErrorCode::kPermissionDenied)
    return Err(lock.error());
  RETURN_IF_ERROR(repo.LoadIndex(options.warn));
  RETURN_IF_ERROR(repo.IncludeCondemnedPacks(options.warn));
  // Writing is mostly waiting on the disk: a few more threads than cores.
  size_t threads = options.threads ? options.threads : DefaultConcurrency() + 2;
  RestoreStats stats;
  Status walked;
  {
    ThreadPool pool(threads, 4 * threads);
    TreeRestorer restorer(repo, options, pool);
    walked = restorer.RestoreTree(target, snapshot.root, "/", &filter);
    pool.Wait();
    stats = restorer.stats();
  }
  RETURN_IF_ERROR(walked);
  std::vector<std::string> missing;
  if (!filter.all) Missing(filter, "", &missing);
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Err(NotFoundError("not in the snapshot: " + list));
  }
  return stats;
}

}  // namespace coffre::restore
