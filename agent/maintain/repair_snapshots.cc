#include "agent/maintain/repair_snapshots.h"

#include <set>
#include <unordered_map>
#include <unordered_set>

#include "agent/repo/pack_uploader.h"
#include "agent/repo/repo_lock.h"
#include "core/compress/zstd_codec.h"

namespace coffre::maintain {

namespace {

constexpr const char* kRepairedTag = "repaired";
constexpr const char* kRepairedFromTag = "repaired-from:";
// The report is stored in chunks of this size.
constexpr size_t kReportChunk = 1 << 20;

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

class SnapshotRepairer {
 public:
  SnapshotRepairer(repo::Repository& repo, const RepairSnapshotsOptions& options,
                   std::set<PackId> stored)
      : repo_(repo), options_(options), stored_(std::move(stored)),
        compressor_(repo.config().compression_level) {}

  // Starts the uploader (not in a dry run).
  void BeginWriting() {
    uploader_ = std::make_unique<repo::PackUploader>(&repo_, repo::PackUploader::kDefaultPackSize,
                                                     repo_.backend().ParallelWrites());
  }
  Status Flush() { return uploader_ ? uploader_->Flush() : Status::Ok(); }

  // The tree `id` at `path` with what is damaged left out and named in
  // *damaged: the same id when nothing below it is damaged. Errors are
  // storage errors only; damage is never an error here.
  Result<BlobId> Repair(const BlobId& id, const std::string& path,
                        std::vector<std::string>* damaged) {
    if (options_.cancel && options_.cancel->load()) return Err(CancelledError("interrupted"));
    // An intact tree is walked once; a damaged one again at each path it
    // stands at, so that each damaged entry is named where it is (the
    // chunks' verdicts are kept, so that costs no read).
    if (intact_trees_.count(id)) return id;
    auto tree = repo_.LoadTree(id);
    if (!tree) {
      if (tree.error().code() == ErrorCode::kUnavailable) return Err(tree.error());
      return Err(CorruptionError(tree.error().message()));
    }
    std::vector<std::string> here;
    bool changed = false;
    format::Tree out;
    for (format::Node& node : tree->nodes) {
      const std::string node_path = Join(path, node.name);
      if (node.subtree) {
        std::vector<std::string> below;
        auto sub = Repair(*node.subtree, node_path, &below);
        if (!sub && sub.error().code() != ErrorCode::kCorruption) return Err(sub.error());
        if (!sub) {
          here.push_back(node_path + "/: the folder's listing is unreadable (" +
                         sub.error().message() + "); it is kept empty");
          ASSIGN_OR_RETURN(BlobId empty, SaveTree(format::Tree{}));
          node.subtree = empty;
          changed = true;
        } else if (*sub != *node.subtree) {
          node.subtree = *sub;
          changed = true;
        }
        here.insert(here.end(), below.begin(), below.end());
        out.nodes.push_back(std::move(node));
        continue;
      }
      ASSIGN_OR_RETURN(std::optional<std::string> why, ContentDamage(node));
      if (why) {
        here.push_back(node_path + ": " + *why + "; left out");
        changed = true;
        continue;
      }
      out.nodes.push_back(std::move(node));
    }
    BlobId result = id;
    if (changed) {
      ASSIGN_OR_RETURN(result, SaveTree(std::move(out)));
    }
    if (here.empty()) intact_trees_.insert(id);
    damaged->insert(damaged->end(), here.begin(), here.end());
    return result;
  }

  // Adds the report file to root tree `root` (a name not taken there).
  Result<BlobId> AddReport(const BlobId& root, const std::vector<std::string>& damaged,
                           const ObjectId& original) {
    // The root may be one written by this run, not indexed before Flush.
    format::Tree tree;
    if (auto made = created_.find(root); made != created_.end()) {
      tree = made->second;
    } else {
      ASSIGN_OR_RETURN(tree, repo_.LoadTree(root));
    }
    std::string text = "coffre repair snapshots: these entries of snapshot " + original.Hex() +
                       " could not be read and are not in this snapshot.\n";
    for (const std::string& line : damaged) text += line + "\n";
    format::Node report;
    report.name = kDamageReportName;
    for (int n = 2; format::FindNode(tree, report.name); ++n)
      report.name = std::string(kDamageReportName) + "." + std::to_string(n);
    report.type = format::NodeType::kFile;
    report.mode = 0644;
    report.mtime_ns = report.ctime_ns = repo::NowNs();
    report.size = text.size();
    for (size_t at = 0; at < text.size(); at += kReportChunk) {
      ByteView piece = AsBytes(text).subspan(at, std::min(kReportChunk, text.size() - at));
      ASSIGN_OR_RETURN(BlobId id, SaveBlob(format::BlobType::kData, piece));
      report.content.push_back(id);
    }
    tree.nodes.push_back(std::move(report));
    return SaveTree(std::move(tree));
  }

 private:
  // Why the content of `node` cannot be read, or nullopt if it can.
  Result<std::optional<std::string>> ContentDamage(const format::Node& node) {
    size_t bad = 0;
    std::string first;
    for (const BlobId& blob : node.content) {
      auto it = verdicts_.find(blob);
      if (it == verdicts_.end()) {
        ASSIGN_OR_RETURN(std::string verdict, ChunkDamage(blob));
        it = verdicts_.emplace(blob, std::move(verdict)).first;
      }
      if (it->second.empty()) continue;
      if (bad++ == 0) first = it->second;
    }
    if (bad == 0) return std::optional<std::string>();
    return std::optional<std::string>(std::to_string(bad) + " of " +
                                      std::to_string(node.content.size()) +
                                      " chunk(s) unreadable (" + first + ")");
  }

  // "" if chunk `id` can be read, else why not.
  Result<std::string> ChunkDamage(const BlobId& id) {
    auto loc = repo_.index().Find(id);
    if (!loc) return std::string("chunk " + id.Short() + " is in no pack");
    if (!stored_.count(loc->pack))
      return std::string("chunk " + id.Short() + ": pack " + loc->pack.Short() + " is missing");
    if (!options_.read_data) return std::string();
    auto blob = repo_.LoadBlob(id);
    if (blob) return std::string();
    if (blob.error().code() == ErrorCode::kUnavailable) return Err(blob.error());
    return blob.error().message();
  }

  Result<BlobId> SaveTree(format::Tree tree) {
    ASSIGN_OR_RETURN(Bytes encoded, format::EncodeTree(tree));
    ASSIGN_OR_RETURN(BlobId id, SaveBlob(format::BlobType::kTree, encoded));
    created_.emplace(id, std::move(tree));
    return id;
  }

  Result<BlobId> SaveBlob(format::BlobType type, ByteView plain) {
    const BlobId id(repo_.NewHasher()->Compute(plain));
    if (!uploader_ || !uploader_->Reserve(id)) return id;  // dry run, or stored already
    compress::Codec codec = compressor_.Compress(plain, &compressed_);
    ByteView stored = codec == compress::Codec::kNone ? plain : ByteView(compressed_);
    RETURN_IF_ERROR(
        uploader_->AddBlob(type, id, codec, static_cast<uint32_t>(plain.size()), stored));
    return id;
  }

  repo::Repository& repo_;
  const RepairSnapshotsOptions& options_;
  const std::set<PackId> stored_;
  compress::Compressor compressor_;
  Bytes compressed_;
  std::unique_ptr<repo::PackUploader> uploader_;
  std::unordered_map<BlobId, std::string, IdHash> verdicts_;
  std::unordered_map<BlobId, format::Tree, IdHash> created_;  // trees this run wrote
  std::unordered_set<BlobId, IdHash> intact_trees_;
};

}  // namespace

Result<RepairSnapshotsStats> RepairSnapshots(repo::Repository& repo,
                                             const RepairSnapshotsOptions& options) {
  auto warn = [&](const std::string& line) {
    if (options.warn) options.warn(line);
  };
  // A backup lock: a prune running meanwhile keeps the packs this uses.
  std::unique_ptr<repo::RepoLock> lock;
  if (!options.dry_run) {
    ASSIGN_OR_RETURN(lock, repo::RepoLock::Acquire(repo, format::LockKind::kBackup));
  }
  std::vector<repo::DamagedSnapshot> unreadable;
  ASSIGN_OR_RETURN(std::vector<repo::SnapshotListing> all, repo.ListSnapshots(&unreadable));
  for (const auto& d : unreadable)
    warn("snapshot " + d.id.Hex() + " cannot be read (" + d.error.message() +
         "): nothing of it can be repaired; `coffre forget " + d.id.Short() + "` removes it");
  RETURN_IF_ERROR(repo.LoadIndex(warn));
  RETURN_IF_ERROR(StatusOf(repo.IncludeUnindexedPacks(warn)));
  std::set<PackId> stored;
  RETURN_IF_ERROR(repo.backend().List(storage::ObjectKind::kData, [&](const storage::ObjectInfo& info) {
    if (auto id = PackId::FromHex(info.name)) stored.insert(*id);
    return Status::Ok();
  }));

  std::set<ObjectId> chosen;
  for (const std::string& spec : options.snapshots) {
    ASSIGN_OR_RETURN(ObjectId id, repo.ResolveSnapshotId(spec));
    chosen.insert(id);
  }
  std::set<std::string> repaired_from;
  for (const auto& l : all)
    for (const std::string& tag : l.snapshot.tags)
      if (tag.rfind(kRepairedFromTag, 0) == 0) repaired_from.insert(tag.substr(std::string(kRepairedFromTag).size()));

  SnapshotRepairer repairer(repo, options, std::move(stored));
  if (!options.dry_run) repairer.BeginWriting();
  RepairSnapshotsStats stats;
  std::vector<std::pair<format::Snapshot, size_t>> to_save;
  for (const repo::SnapshotListing& l : all) {
    if (!chosen.empty() && !chosen.count(l.id)) continue;
    ++stats.checked;
    if (repaired_from.count(l.id.Short())) {
      ++stats.already_repaired;
      continue;
    }
    RepairedSnapshot result{l.id, std::nullopt, {}};
    auto root = repairer.Repair(l.snapshot.root, "/", &result.damaged);
    if (!root && root.error().code() != ErrorCode::kCorruption) return Err(root.error());
    if (!root) {
      result.damaged.push_back("/: the snapshot's root folder is unreadable (" +
                               root.error().message() + "): nothing of it is left to keep");
      stats.repaired.push_back(std::move(result));
      continue;
    }
    if (result.damaged.empty()) continue;
    if (!options.dry_run) {
      ASSIGN_OR_RETURN(BlobId with_report, repairer.AddReport(*root, result.damaged, l.id));
      format::Snapshot fixed = l.snapshot;
      fixed.root = with_report;
      fixed.parent = l.id;
      fixed.tags.push_back(kRepairedTag);
      fixed.tags.push_back(kRepairedFromTag + l.id.Short());
      fixed.program_version = repo::kProgramVersion;
      to_save.emplace_back(std::move(fixed), stats.repaired.size());
    }
    stats.repaired.push_back(std::move(result));
  }
  // Trees are stored and indexed before any snapshot names them.
  RETURN_IF_ERROR(repairer.Flush());
  if (lock) RETURN_IF_ERROR(lock->Check());
  for (auto& [snapshot, at] : to_save) {
    ASSIGN_OR_RETURN(ObjectId id, repo.SaveSnapshot(snapshot));
    stats.repaired[at].repaired = id;
  }
  return stats;
}

}  // namespace coffre::maintain
