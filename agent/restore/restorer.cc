#include "agent/restore/restorer.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/filesystem.hpp>

#include "agent/fsmeta/node_writer.h"
#include "agent/repo/repo_lock.h"
#include "agent/restore/fetch_plan.h"
#include "agent/restore/restored_file.h"
#include "agent/util/fd.h"
#include "core/base/thread_pool.h"

namespace coffre::restore {

namespace {

using format::Node;
using format::NodeType;

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

// How many restored files may be open at once: half of what the descriptor
// limit leaves after some for directories, the walk and the backend.
size_t MaxOpenFiles() {
  rlimit limit{};
  rlim_t soft = 1024;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    soft = limit.rlim_cur;
  const rlim_t spare = soft > 256 ? (soft - 128) / 2 : 64;
  return static_cast<size_t>(std::clamp<rlim_t>(spare, 16, 4096));
}

// A planned batch, kept alive by the reads in flight that need it.
struct Batch {
  FetchPlan plan;
  std::vector<std::shared_ptr<RestoredFile>> files;
};

// Chunk uses planned before a batch is handed to the pool: bounds the
// plan's memory (about 200 bytes a blob) whatever the size of the files.
constexpr size_t kMaxBatchUses = 16384;

class TreeRestorer {
 public:
  TreeRestorer(repo::Repository& repo, const RestoreOptions& options, ThreadPool& pool)
      : repo_(repo), options_(options), pool_(pool), max_open_files_(MaxOpenFiles()) {}

  Status RestoreTree(const DirFd& dir, const BlobId& tree_id, const std::string& path,
                     Filter* filter);
  // Fetches what is still planned and waits for every file to be finished;
  // the error that stopped the restore, if one did.
  Status Finish();
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
  // Hands the batch being planned to the pool, read by read.
  void Flush();
  void FetchRead(const Batch& batch, const PackRead& read);
  // Hands the sealed bytes of blob `i` of the batch (or the reason it could
  // not be read) to every file that uses it.
  void Deliver(const Batch& batch, size_t i, const Result<ByteView>& sealed);
  void Release(const std::shared_ptr<RestoredFile>& file);
  void Fatal(const Status& s);
  bool Stopped() const {
    return stop_.load() || (options_.cancel && options_.cancel->load());
  }
  void Problem(const std::string& path, const Status& s, bool damaged = false) {
    std::lock_guard lock(mu_);
    ++(damaged ? stats_.damaged : stats_.problems);
    if (options_.warn) options_.warn(path + ": " + s.message());
  }

  repo::Repository& repo_;
  const RestoreOptions& options_;
  ThreadPool& pool_;
  const size_t max_open_files_;
  std::mutex mu_;
  RestoreStats stats_;
  Status fatal_;
  std::atomic<bool> stop_{false};
  // Files created and not yet finished, bounded so a restore of many small
  // files stays within the process's descriptor limit.
  std::mutex open_mu_;
  std::condition_variable open_cv_;
  size_t open_files_ = 0;
  // The batch being planned (walk thread only).
  FetchPlan plan_;
  std::vector<std::shared_ptr<RestoredFile>> batch_files_;
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
    if (Stopped()) {
      std::lock_guard lock(mu_);
      return fatal_.ok() ? CancelledError("interrupted") : fatal_;
    }
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
  {
    // Wait for a descriptor; the batch being planned is handed over first,
    // since its files only finish once it is fetched.
    std::unique_lock lock(open_mu_);
    if (open_files_ >= max_open_files_) {
      lock.unlock();
      Flush();
      lock.lock();
      open_cv_.wait(lock, [this] { return open_files_ < max_open_files_ || Stopped(); });
    }
    if (Stopped()) return;
  }
  // Whatever is in the way goes first, so a fresh inode is created: writing
  // through an existing file could change a hard link that leads outside
  // the target, and O_EXCL with O_NOFOLLOW refuses anything planted since.
  if (unlinkat(dir->get(), name, 0) != 0 && (errno == EISDIR || errno == EPERM))
    unlinkat(dir->get(), name, AT_REMOVEDIR);
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd fd(openat(dir->get(), name, flags, 0600));
  if (!fd.valid()) {
    Problem(path, ErrnoStatus(errno, "create"));
    return;
  }
  if (node.link_group) links_[node.link_group] = FirstLink{dir, node.name};
  {
    std::lock_guard lock(open_mu_);
    ++open_files_;
  }
  auto file = std::make_shared<RestoredFile>(dir, std::move(fd), node, path);
  auto number = static_cast<uint32_t>(batch_files_.size());
  batch_files_.push_back(file);
  uint64_t offset = 0;
  for (const BlobId& id : node.content) {
    auto loc = repo_.index().Find(id);
    if (!loc) {
      // Without its length, nothing after this chunk has a known place.
      file->Damaged(CorruptionError("chunk " + id.Short() + " is in no index"));
      break;
    }
    if (plan_.uses() >= kMaxBatchUses) {
      Flush();
      number = 0;
      batch_files_.push_back(file);
    }
    file->Hold(1);
    plan_.Add(*loc, ChunkUse{number, offset});
    offset += loc->entry.raw_len;
  }
  Release(file);  // the planner's hold
  if (batch_files_.size() >= max_open_files_ / 2) Flush();
}

void TreeRestorer::Flush() {
  if (plan_.empty()) {
    batch_files_.clear();
    return;
  }
  auto batch = std::make_shared<Batch>(Batch{std::move(plan_), std::move(batch_files_)});
  plan_ = FetchPlan();
  batch_files_.clear();
  for (const PackRead& read : batch->plan.Reads(FetchLimits{}))
    pool_.Submit([this, batch, read] { FetchRead(*batch, read); });
}

void TreeRestorer::FetchRead(const Batch& batch, const PackRead& read) {
  const auto& blobs = batch.plan.blobs();
  if (Stopped()) {
    for (size_t i = read.first; i < read.last; ++i)
      Deliver(batch, i, Err(CancelledError("interrupted")));
    return;
  }
  auto bytes = repo_.LoadPackRange(read.pack, read.offset, read.length);
  if (!bytes && bytes.error().code() == ErrorCode::kCorruption && read.last - read.first > 1) {
    // A short or damaged pack: read its blobs one by one, so that only
    // those that are really lost are reported.
    for (size_t i = read.first; i < read.last; ++i) {
      const auto& entry = blobs[i].loc.entry;
      auto one = repo_.LoadPackRange(read.pack, entry.offset, entry.stored_len);
      if (one) {
        Deliver(batch, i, ByteView(*one));
      } else {
        if (one.error().code() != ErrorCode::kCorruption) Fatal(one.error());
        Deliver(batch, i, Err(one.error()));
      }
    }
    return;
  }
  if (!bytes && bytes.error().code() != ErrorCode::kCorruption) Fatal(bytes.error());
  for (size_t i = read.first; i < read.last; ++i) {
    if (!bytes) {
      Deliver(batch, i, Err(bytes.error()));
      continue;
    }
    const auto& entry = blobs[i].loc.entry;
    Deliver(batch, i, ByteView(*bytes).subspan(entry.offset - read.offset, entry.stored_len));
  }
}

void TreeRestorer::Deliver(const Batch& batch, size_t i, const Result<ByteView>& sealed) {
  const PlannedBlob& blob = batch.plan.blobs()[i];
  Result<Bytes> plain = sealed ? repo_.OpenBlob(blob.loc, *sealed) : Err(sealed.error());
  for (const ChunkUse& use : blob.uses) {
    const auto& file = batch.files[use.file];
    if (plain) {
      file->Write(use.offset, *plain);
    } else if (!Stopped()) {
      file->Damaged(plain.error());
    }
    Release(file);
  }
}

void TreeRestorer::Release(const std::shared_ptr<RestoredFile>& file) {
  if (!file->Release()) return;
  if (Stopped()) {
    file->Abandon();
  } else {
    RestoredFile::Outcome outcome = file->Finish();
    if (!outcome.damage.ok()) Problem(file->path(), outcome.damage, /*damaged=*/true);
    for (const Status& s : outcome.problems) Problem(file->path(), s);
    std::lock_guard lock(mu_);
    ++stats_.files;
    stats_.bytes += outcome.written;
  }
  {
    std::lock_guard lock(open_mu_);
    --open_files_;
  }
  open_cv_.notify_one();
}

void TreeRestorer::Fatal(const Status& s) {
  {
    std::lock_guard lock(mu_);
    if (fatal_.ok()) fatal_ = s;
  }
  stop_ = true;
  open_cv_.notify_all();
}

Status TreeRestorer::Finish() {
  Flush();
  pool_.Wait();
  std::lock_guard lock(mu_);
  return fatal_;
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
  ASSIGN_OR_RETURN(auto lock, repo::RepoLock::AcquireForReading(repo, options.note));
  RETURN_IF_ERROR(repo.LoadIndex(options.warn));
  // Condemned packs, and packs a damaged or lost index object no longer
  // covers, are read from their own headers.
  if (auto added = repo.IncludeUnindexedPacks(options.warn); !added) return Err(added.error());
  // Writing is mostly waiting on the disk: a few more threads than cores;
  // reading from a vault, mostly waiting on round trips: as many as it says.
  size_t threads = options.threads ? options.threads
                                   : std::max(DefaultConcurrency() + 2, repo.backend().ParallelReads());
  RestoreStats stats;
  Status walked;
  {
    ThreadPool pool(threads, 4 * threads);
    TreeRestorer restorer(repo, options, pool);
    walked = restorer.RestoreTree(target, snapshot.root, "/", &filter);
    Status fetched = restorer.Finish();
    if (walked.ok() || walked.code() == ErrorCode::kCancelled) {
      if (!fetched.ok()) walked = fetched;
    }
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
