#include "agent/backup/archiver.h"

#include <chrono>

#include "agent/backup/backup_paths.h"
#include "agent/backup/blob_saver.h"
#include "agent/backup/walker.h"
#include "agent/repo/repo_lock.h"
#include "core/base/thread_pool.h"

namespace coffre::backup {

namespace {

// The latest snapshot of the same host and paths, for the change cache.
std::optional<format::Snapshot> FindParent(repo::Repository& repo, const std::string& host,
                                           const std::vector<std::string>& paths,
                                           std::optional<ObjectId>* parent_id) {
  // A damaged snapshot is no parent; check and forget report it.
  std::vector<repo::DamagedSnapshot> damaged;
  auto all = repo.ListSnapshots(&damaged);
  if (!all) return std::nullopt;
  for (auto it = all->rbegin(); it != all->rend(); ++it) {
    if (it->snapshot.host == host && it->snapshot.paths == paths) {
      *parent_id = it->id;
      return it->snapshot;
    }
  }
  return std::nullopt;
}

// The compiled rules; null when there are none, so a backup without rules
// takes exactly the code path it always took.
Result<std::shared_ptr<const ExcludeFilter>> CompileExcludes(const ExcludeRules& rules) {
  if (rules.empty()) return std::shared_ptr<const ExcludeFilter>();
  return ExcludeFilter::Compile(rules);
}

std::unique_ptr<ListingPrefetcher> NewListingPrefetcher(
    const std::vector<std::string>& paths, std::shared_ptr<const ExcludeFilter> excludes) {
  return std::make_unique<ListingPrefetcher>(
      OutermostPaths(paths), ListingPrefetcher::kDefaultThreads,
      ListingPrefetcher::kDefaultMaxEntries, ListingPrefetcher::kDefaultHeadStart,
      std::move(excludes));
}
}  // namespace

std::unique_ptr<ListingPrefetcher> StartListing(const std::vector<std::string>& paths,
                                                const ExcludeRules& excludes) {
  auto normal = NormalizePaths(paths);
  auto filter = CompileExcludes(excludes);
  if (!normal || !filter) return nullptr;
  return NewListingPrefetcher(*normal, std::move(*filter));
}

Result<BackupResult> RunBackup(repo::Repository& repo, const BackupOptions& options,
                               const std::function<void(const BackupProgress&)>& progress) {
  const auto started = std::chrono::steady_clock::now();
  format::Snapshot snapshot;
  snapshot.time_ns = repo::NowNs();
  snapshot.host = options.host.empty() ? repo::HostName() : options.host;
  snapshot.user = repo::UserNameOfProcess();
  snapshot.tags = options.tags;
  snapshot.program_version = repo::kProgramVersion;
  ASSIGN_OR_RETURN(const std::vector<std::string> disk_paths, NormalizePaths(options.paths));
  RETURN_IF_ERROR(CheckCommandSources(disk_paths, options.commands));
  ASSIGN_OR_RETURN(std::shared_ptr<const ExcludeFilter> excludes,
                   CompileExcludes(options.excludes));
  std::vector<std::string> command_paths;
  for (const CommandSource& source : options.commands) command_paths.push_back(source.path);
  snapshot.paths = disk_paths;
  snapshot.paths.insert(snapshot.paths.end(), command_paths.begin(), command_paths.end());
  std::sort(snapshot.paths.begin(), snapshot.paths.end());
  if (snapshot.paths.empty()) return Err(InvalidArgumentError("no path to back up"));

  // The lock comes before the index: a prune that condemns packs after this
  // point waits for this run to end before deleting them (docs/prune.md).
  ASSIGN_OR_RETURN(std::unique_ptr<repo::RepoLock> lock,
                   repo::RepoLock::Acquire(repo, format::LockKind::kBackup));
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
  } else {
    // With --force the parent is not trusted for metadata, nor recorded;
    // it still gives the progress its likely totals.
    std::optional<ObjectId> unused;
    parent = FindParent(repo, snapshot.host, snapshot.paths,
                        options.force ? &unused : &snapshot.parent);
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
  const bool same_rules = listings && (listings->excludes()
                                           ? listings->excludes()->rules() == options.excludes
                                           : options.excludes.empty());
  if (!same_rules) {
    own_listings = NewListingPrefetcher(disk_paths, excludes);
    listings = own_listings.get();
  }
  VirtualDir virtual_root = BuildVirtualRoot(disk_paths);
  AddVirtualFiles(virtual_root, command_paths);
  Walker walker(repo, options, disk_paths, saver, listings, excludes, progress);
  if (parent) walker.ExpectTotals(parent->stats.files, parent->stats.bytes);
  // The commands run first: a dump that fails stops the backup before the
  // walk, and the dump is not slowed by the walk's reads.
  Status commands = walker.RunCommands();
  auto root = commands.ok() ? walker.SaveVirtual("/", virtual_root, parent_root)
                            : Result<BlobId>(Err(commands));
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
  // A lock removed as stale means a prune may have deleted what this run
  // deduplicated against: committing would save a snapshot with holes.
  RETURN_IF_ERROR(lock->Check());
  ASSIGN_OR_RETURN(ObjectId id, repo.SaveSnapshot(snapshot));
  return BackupResult{id, std::move(snapshot)};
}

}  // namespace coffre::backup
