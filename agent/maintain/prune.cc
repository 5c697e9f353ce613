#include "agent/maintain/prune.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <variant>

#include "agent/maintain/used_blobs.h"
#include "agent/repo/pack_uploader.h"
#include "core/compress/zstd_codec.h"

namespace coffre::maintain {

namespace {

using storage::ObjectKind;

struct PlanRef {
  ObjectId id;
  format::PrunePlan plan;
};

class Pruner {
 public:
  Pruner(repo::Repository& repo, const PruneOptions& options)
      : repo_(repo), options_(options), used_(repo) {}

  Result<PruneStats> Run() {
    std::unique_ptr<repo::RepoLock> lock;
    if (!options_.dry_run) {
      ASSIGN_OR_RETURN(lock,
                       repo::RepoLock::Acquire(repo_, format::LockKind::kPrune, options_.timing));
      own_session_ = lock->lock().session;
    }
    RETURN_IF_ERROR(Mark());
    RETURN_IF_ERROR(Sweep());
    if (lock) RETURN_IF_ERROR(lock->Check());
    return stats_;
  }

 private:
  bool Cancelled() const { return options_.cancel && options_.cancel->load(); }
  void Note(const std::string& line) const {
    if (options_.note) options_.note(line);
  }
  void Warn(const std::string& line) const {
    if (options_.warn) options_.warn(line);
  }

  // Snapshots first, then the index: every index object a listed snapshot
  // depends on was published before it, so its blobs are all found.
  Status Reload() {
    std::vector<repo::DamagedSnapshot> damaged;
    ASSIGN_OR_RETURN(std::vector<repo::SnapshotListing> snapshots, repo_.ListSnapshots(&damaged));
    // Skipping it would delete the data only it uses, which `repair
    // snapshots` might still save; forgetting it is the user's decision.
    if (!damaged.empty())
      return CorruptionError(
          "snapshot " + damaged[0].id.Hex() + " cannot be read (" + damaged[0].error.message() +
          ")" + (damaged.size() > 1 ? " nor " + std::to_string(damaged.size() - 1) + " more" : "") +
          ": prune would delete the data only damaged snapshots use; forget each one by id "
          "(`coffre snapshots` names them), then prune again");
    stats_.snapshots = snapshots.size();
    RETURN_IF_ERROR(repo_.LoadIndex(options_.warn));
    RETURN_IF_ERROR(repo_.IncludeCondemnedPacks(options_.warn));
    return used_.Add(snapshots);
  }

  Status Mark();
  Status Repack(const std::vector<repo::PackRecord>& packs,
                std::unordered_map<PackId, std::vector<format::PackEntry>, IdHash>& entries);
  Status Sweep();
  Status Carry(const std::vector<PlanRef>& ripe);
  Status RewriteIndex(const std::set<PackId>& doomed, std::set<ObjectId>* deletable);

  repo::Repository& repo_;
  const PruneOptions& options_;
  UsedBlobs used_;
  format::SessionId own_session_{};
  int64_t own_plan_visible_ns_ = 0;  // when this run's plan save returned
  PruneStats stats_;
};

Status Pruner::Mark() {
  RETURN_IF_ERROR(Reload());
  auto entries = repo_.index().EntriesByPack();
  std::vector<repo::PackRecord> unused, sparse;
  for (const repo::PackRecord& pack : repo_.index().Packs()) {
    if (repo_.condemned().count(pack.id)) continue;
    ++stats_.packs;
    uint64_t live = 0, blobs = 0;
    for (const format::PackEntry& entry : entries[pack.id]) {
      blobs += entry.stored_len;
      if (used_.Contains(entry.id)) live += entry.stored_len;
    }
    // Against the blobs' bytes, not the pack's size: in a pack of small
    // trees the header weighs as much as the blobs, and a pack whose every
    // blob is used would be repacked into its own copy at every prune.
    if (live == 0) {
      unused.push_back(pack);
    } else if (static_cast<double>(live) < options_.repack_below * static_cast<double>(blobs)) {
      sparse.push_back(pack);
    }
  }
  RETURN_IF_ERROR(repo_.backend().List(ObjectKind::kData, [&](const storage::ObjectInfo& info) {
    auto id = PackId::FromHex(info.name);
    if (id && !repo_.index().HasPack(*id)) ++stats_.unindexed_packs;
    return Status::Ok();
  }));
  stats_.unused_packs = unused.size();
  stats_.repacked_packs = sparse.size();
  format::PrunePlan plan;
  for (const auto* list : {&unused, &sparse}) {
    for (const repo::PackRecord& pack : *list) {
      stats_.condemned_bytes += pack.size;
      plan.condemned.push_back(pack.id);
    }
  }
  for (const repo::PackRecord& pack : sparse)
    for (const format::PackEntry& entry : entries[pack.id])
      if (used_.Contains(entry.id)) ++stats_.repacked_blobs;
  Note(std::to_string(stats_.snapshots) + " snapshots use " + std::to_string(used_.blobs().size()) +
       " blobs; of " + std::to_string(stats_.packs) + " packs, " + std::to_string(unused.size()) +
       " are unused and " + std::to_string(sparse.size()) + " will be repacked");
  if (options_.dry_run || plan.condemned.empty()) return Status::Ok();
  if (Cancelled()) return CancelledError("interrupted");

  RETURN_IF_ERROR(Repack(sparse, entries));
  // The copies are indexed before the plan hides the originals, so a used
  // blob is never out of every reader's index.
  std::sort(plan.condemned.begin(), plan.condemned.end());
  // A backup that listed the plans just before this one became visible
  // took its lock before then: the sweep waits for backups whose lock is
  // older than visible_by_ns, so that time must really be after the save.
  plan.created_ns = repo::NowNs();
  plan.visible_by_ns = plan.created_ns + options_.publish_margin.count();
  ASSIGN_OR_RETURN(ObjectId id, repo_.SaveLockRecord(plan));
  const int64_t published = repo::NowNs();
  if (published > plan.visible_by_ns) {
    (void)repo_.backend().Remove({ObjectKind::kLock, id.Hex()});
    return UnavailableError("saving the prune plan took longer than its margin; nothing was "
                            "condemned: run prune again");
  }
  stats_.plan = id;
  own_plan_visible_ns_ = published;
  return Status::Ok();
}

Status Pruner::Repack(const std::vector<repo::PackRecord>& packs,
                      std::unordered_map<PackId, std::vector<format::PackEntry>, IdHash>& entries) {
  if (packs.empty()) return Status::Ok();
  repo::PackUploader uploader(&repo_, repo::PackUploader::kDefaultPackSize,
                              repo_.backend().ParallelWrites());
  compress::Compressor compressor(repo_.config().compression_level);
  Bytes compressed;
  for (const repo::PackRecord& pack : packs) {
    for (const format::PackEntry& entry : entries[pack.id]) {
      if (!used_.Contains(entry.id)) continue;
      if (Cancelled()) return CancelledError("interrupted");
      ASSIGN_OR_RETURN(Bytes plain, repo_.LoadBlob(entry.id));
      compress::Codec codec = compressor.Compress(plain, &compressed);
      ByteView stored = codec == compress::Codec::kNone ? ByteView(plain) : ByteView(compressed);
      RETURN_IF_ERROR(uploader.AddBlob(entry.type, entry.id, codec,
                                       static_cast<uint32_t>(plain.size()), stored));
    }
  }
  RETURN_IF_ERROR(uploader.Flush());
  stats_.repacked_bytes = uploader.bytes_stored();
  return Status::Ok();
}

Status Pruner::Sweep() {
  ASSIGN_OR_RETURN(std::vector<repo::LockListing> records, repo_.ListLockRecords(options_.warn));
  const int64_t now = repo::NowNs();
  std::vector<const format::Lock*> live;
  for (const repo::LockListing& listing : records) {
    const auto* lock = std::get_if<format::Lock>(&listing.record);
    if (!lock || lock->session == own_session_) continue;
    if (repo::IsLive(*lock, now, options_.timing)) {
      live.push_back(lock);
    } else if (!options_.dry_run) {
      // Its run died; removing the object also tells a suspended run that
      // it must not commit (RepoLock::Check).
      Status s = repo_.backend().Remove({ObjectKind::kLock, listing.id.Hex()});
      if (s.ok()) ++stats_.stale_locks;
    }
  }
  std::vector<PlanRef> ripe;
  for (const repo::LockListing& listing : records) {
    const auto* plan = std::get_if<format::PrunePlan>(&listing.record);
    if (!plan) continue;
    bool ready = now - plan->created_ns >= options_.grace.count();
    // This run's own plan: the time its save returned is known exactly.
    const int64_t visible =
        stats_.plan && *stats_.plan == listing.id ? own_plan_visible_ns_ : plan->visible_by_ns;
    for (const format::Lock* lock : live) {
      // A backup that began before the plan was visible (give or take the
      // clocks) may have loaded an index that still named the condemned
      // packs. A reader (restore, check) may read them whenever it began.
      if (lock->kind == format::LockKind::kRead ||
          (lock->kind == format::LockKind::kBackup &&
           lock->created_ns <= visible + options_.clock_skew.count()))
        ready = false;
    }
    if (ready) {
      ripe.push_back({listing.id, *plan});
    } else {
      ++stats_.plans_waiting;
    }
  }
  if (ripe.empty() || options_.dry_run) {
    if (stats_.plans_waiting)
      Note(std::to_string(stats_.plans_waiting) +
           " plan(s) wait for running backups or the grace period; a later prune deletes them");
    return Status::Ok();
  }
  if (Cancelled()) return CancelledError("interrupted");
  return Carry(ripe);
}

Status Pruner::Carry(const std::vector<PlanRef>& ripe) {
  // Snapshots saved since the mark (by runs that began before the plan)
  // may use condemned packs: those are kept.
  RETURN_IF_ERROR(Reload());
  std::set<PackId> doomed;
  for (const PlanRef& ref : ripe)
    doomed.insert(ref.plan.condemned.begin(), ref.plan.condemned.end());
  std::set<PackId> rescued;
  for (const BlobId& blob : used_.blobs()) {
    auto loc = repo_.index().Find(blob);
    if (!loc) return CorruptionError("blob " + blob.Short() + " is used but in no pack: run check");
    if (doomed.count(loc->pack)) rescued.insert(loc->pack);
  }
  std::map<PackId, uint64_t> sizes;
  for (const repo::PackRecord& pack : repo_.index().Packs()) sizes[pack.id] = pack.size;
  if (!rescued.empty()) {
    format::IndexFile file;
    for (const PackId& id : rescued) {
      ASSIGN_OR_RETURN(format::IndexedPack pack, repo_.ReadPackHeader(id, sizes[id]));
      file.packs.push_back(std::move(pack));
      doomed.erase(id);
    }
    RETURN_IF_ERROR(StatusOf(repo_.SaveIndex(file)));
    stats_.rescued_packs = rescued.size();
    Note(std::to_string(rescued.size()) + " condemned pack(s) are used by newer snapshots: kept");
  }
  std::set<ObjectId> deletable;
  RETURN_IF_ERROR(RewriteIndex(doomed, &deletable));
  for (const PackId& id : doomed) {
    Status s = repo_.backend().Remove({ObjectKind::kData, id.Hex()});
    if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
    ++stats_.deleted_packs;
    stats_.deleted_bytes += sizes.count(id) ? sizes[id] : 0;
  }
  for (const ObjectId& id : deletable) {
    Status s = repo_.backend().Remove({ObjectKind::kIndex, id.Hex()});
    if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
  }
  // Last: until the plans go, every reader still leaves their packs out.
  for (const PlanRef& ref : ripe) {
    Status s = repo_.backend().Remove({ObjectKind::kLock, ref.id.Hex()});
    if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
    ++stats_.plans_swept;
  }
  return Status::Ok();
}

// Index objects that name a doomed pack are replaced by one that does not,
// before the packs go: once the plan is deleted, nothing may name them. The
// new object supersedes every superseded id too, so whatever it replaces
// can be deleted in any order without an old object coming back.
Status Pruner::RewriteIndex(const std::set<PackId>& doomed, std::set<ObjectId>* deletable) {
  std::set<ObjectId> superseded;
  ASSIGN_OR_RETURN(std::vector<repo::IndexObject> objects,
                   repo_.ReadIndexObjects(&superseded, options_.warn));
  format::IndexFile rewrite;
  std::set<ObjectId> affected;
  for (const repo::IndexObject& object : objects) {
    if (superseded.count(object.id)) continue;
    bool names_doomed =
        std::any_of(object.file.packs.begin(), object.file.packs.end(),
                    [&](const format::IndexedPack& p) { return doomed.count(p.id) > 0; });
    if (!names_doomed) continue;
    affected.insert(object.id);
    for (const format::IndexedPack& pack : object.file.packs)
      if (!doomed.count(pack.id)) rewrite.packs.push_back(pack);
  }
  if (!affected.empty()) {
    std::set<ObjectId> replaced = superseded;
    replaced.insert(affected.begin(), affected.end());
    rewrite.supersedes.assign(replaced.begin(), replaced.end());
    RETURN_IF_ERROR(StatusOf(repo_.SaveIndex(rewrite)));
    *deletable = std::move(replaced);
    return Status::Ok();
  }
  // Nothing rewritten: delete only what a surviving object supersedes.
  for (const repo::IndexObject& object : objects)
    if (!superseded.count(object.id))
      deletable->insert(object.file.supersedes.begin(), object.file.supersedes.end());
  return Status::Ok();
}

}  // namespace

Result<PruneStats> Prune(repo::Repository& repo, const PruneOptions& options) {
  Pruner pruner(repo, options);
  return pruner.Run();
}

}  // namespace coffre::maintain
