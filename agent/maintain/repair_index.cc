#include "agent/maintain/repair_index.h"

#include <map>
#include <set>
#include <vector>

#include "agent/repo/repo_lock.h"

namespace coffre::maintain {

namespace {

// Packs per new index object: objects stay a few MiB however large the
// repository is.
constexpr size_t kPacksPerObject = 4000;

}  // namespace

Result<RepairIndexStats> RepairIndex(repo::Repository& repo, const RepairIndexOptions& options) {
  auto warn = [&](const std::string& line) {
    if (options.warn) options.warn(line);
  };
  auto cancelled = [&] { return options.cancel && options.cancel->load(); };
  ASSIGN_OR_RETURN(auto lock, repo::RepoLock::Acquire(repo, format::LockKind::kPrune));

  // The old objects first: every pack they name was stored before them, so
  // the pack listing below sees it.
  ASSIGN_OR_RETURN(std::vector<std::string> old_names,
                   storage::ListNames(repo.backend(), storage::ObjectKind::kIndex));
  std::set<ObjectId> superseded;
  ASSIGN_OR_RETURN(std::vector<repo::IndexObject> readable, repo.ReadIndexObjects(&superseded, warn));
  std::map<PackId, format::IndexedPack> described;
  for (const repo::IndexObject& object : readable) {
    if (superseded.count(object.id)) continue;
    for (const format::IndexedPack& pack : object.file.packs) described.emplace(pack.id, pack);
  }

  std::vector<std::pair<PackId, uint64_t>> stored;
  RETURN_IF_ERROR(repo.backend().List(storage::ObjectKind::kData, [&](const storage::ObjectInfo& info) {
    auto id = PackId::FromHex(info.name);
    if (!id) {
      warn("data/" + info.name + ": not a pack name, left out");
    } else {
      stored.emplace_back(*id, info.size);
    }
    return Status::Ok();
  }));

  RepairIndexStats stats;
  stats.old_objects = old_names.size();
  std::vector<format::IndexFile> files(1);
  for (const auto& [id, size] : stored) {
    if (cancelled()) return Err(CancelledError("interrupted"));
    auto pack = repo.ReadPackHeader(id, size);
    if (!pack) {
      if (pack.error().code() == ErrorCode::kNotFound) continue;  // deleted meanwhile
      if (pack.error().code() == ErrorCode::kUnavailable) return Err(pack.error());
      auto old = described.find(id);
      if (old == described.end()) {
        warn(pack.error().message() + "; no index describes it: its blobs are lost");
        ++stats.lost_packs;
        continue;
      }
      warn(pack.error().message() + "; kept as the old index describes it");
      ++stats.from_old_index;
      pack = old->second;
    }
    if (files.back().packs.size() == kPacksPerObject) files.emplace_back();
    stats.blobs += pack->entries.size();
    files.back().packs.push_back(std::move(*pack));
    ++stats.packs;
  }
  if (options.dry_run) return stats;
  RETURN_IF_ERROR(lock->Check());

  // The last object supersedes the old ones: until it is saved, they still
  // count, so a crash in between leaves the old index as it was plus
  // duplicates, never less.
  for (const std::string& name : old_names)
    if (auto id = ObjectId::FromHex(name)) files.back().supersedes.push_back(*id);
  for (const format::IndexFile& file : files) {
    if (file.packs.empty() && file.supersedes.empty()) continue;
    RETURN_IF_ERROR(StatusOf(repo.SaveIndex(file)));
    ++stats.new_objects;
  }
  for (const std::string& name : old_names) {
    Status s = repo.backend().Remove({storage::ObjectKind::kIndex, name});
    if (!s.ok() && s.code() != ErrorCode::kNotFound)
      warn("index " + name + ": not deleted (" + s.message() + "); it is superseded all the same");
  }
  return stats;
}

}  // namespace coffre::maintain
