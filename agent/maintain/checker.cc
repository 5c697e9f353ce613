#include "agent/maintain/checker.h"

#include <atomic>
#include <map>
#include <set>
#include <tuple>
#include <thread>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "agent/repo/repo_lock.h"
#include "core/base/thread_pool.h"
#include "core/crypto/hash.h"
#include "core/format/pack_reader.h"

namespace coffre::maintain {

namespace {

class Checker {
 public:
  Checker(repo::Repository& repo, const CheckOptions& options) : repo_(repo), options_(options) {}

  Status Run();
  CheckStats stats() const { return stats_; }

 private:
  Status CheckTrees();
  void CheckTree(const BlobId& id, const std::string& where);
  Status CheckPacksExist(std::map<PackId, uint64_t>* stored);
  Status ReadAllData(const std::map<PackId, uint64_t>& stored);
  void ReadPack(const repo::PackRecord& pack, const std::vector<format::PackEntry>& by_index,
                crypto::HmacSha256& hasher);
  void Report(const std::string& line) {
    std::lock_guard lock(mu_);
    ++stats_.errors;
    if (options_.report) options_.report(line);
  }
  bool Cancelled() const { return options_.cancel && options_.cancel->load(); }

  repo::Repository& repo_;
  const CheckOptions& options_;
  std::mutex mu_;
  CheckStats stats_;
  std::unordered_set<BlobId, IdHash> seen_trees_;
};

Status Checker::Run() {
  ASSIGN_OR_RETURN(auto lock, repo::RepoLock::AcquireForReading(repo_, options_.note));
  RETURN_IF_ERROR(repo_.LoadIndex([this](const std::string& line) { Report(line); }));
  // Condemned packs still exist until a prune sweeps them, and a snapshot
  // may still use them (prune then keeps them): they count as indexed.
  // Packs in no index object (an interrupted backup's, or a damaged index
  // object's) are read from their own headers too, so the trees' blobs are
  // judged by what is stored, not by what an index still says.
  ASSIGN_OR_RETURN(std::vector<PackId> added,
                   repo_.IncludeUnindexedPacks([this](const std::string& line) { Report(line); }));
  for (const PackId& id : added) stats_.unindexed_packs += repo_.condemned().count(id) ? 0 : 1;
  RETURN_IF_ERROR(CheckTrees());
  std::map<PackId, uint64_t> stored;
  RETURN_IF_ERROR(CheckPacksExist(&stored));
  if (options_.read_data) RETURN_IF_ERROR(ReadAllData(stored));
  return Status::Ok();
}

Status Checker::CheckTrees() {
  ASSIGN_OR_RETURN(std::vector<std::string> names,
                   storage::ListNames(repo_.backend(), storage::ObjectKind::kSnapshot));

  for (const std::string& name : names) {
    if (Cancelled()) return CancelledError("interrupted");
    auto id = ObjectId::FromHex(name);
    if (!id) {
      Report("snapshot " + name + ": not a valid id");
      continue;
    }
    auto snapshot = repo_.LoadSnapshot(*id);
    if (!snapshot) {
      if (snapshot.error().code() == ErrorCode::kUnavailable) return snapshot.error();
      Report(snapshot.error().message());
      continue;
    }
    ++stats_.snapshots;
    CheckTree(snapshot->root, "snapshot " + id->Short());
  }
  return Status::Ok();
}

void Checker::CheckTree(const BlobId& id, const std::string& where) {
  if (!seen_trees_.insert(id).second) return;
  auto tree = repo_.LoadTree(id);
  if (!tree) {
    Report(where + ": tree " + id.Short() + ": " + tree.error().message());
    return;
  }
  ++stats_.trees;
  for (const format::Node& node : tree->nodes) {
    if (node.subtree) CheckTree(*node.subtree, where);
    for (const BlobId& blob : node.content) {
      if (!repo_.index().HasBlob(blob))
        Report(where + ": file " + node.name + ": chunk " + blob.Short() + " is in no index");
    }
  }
}

Status Checker::CheckPacksExist(std::map<PackId, uint64_t>* stored) {
  RETURN_IF_ERROR(repo_.backend().List(storage::ObjectKind::kData,
                                       [&](const storage::ObjectInfo& info) {
                                         auto id = PackId::FromHex(info.name);
                                         if (!id) {
                                           Report("data/" + info.name + ": not a pack name");
                                         } else {
                                           (*stored)[*id] = info.size;
                                         }
                                         return Status::Ok();
                                       }));
  const bool one_type = repo_.config().version >= format::kSeparateTreePacksVersion;
  for (const repo::PackRecord& pack : repo_.index().Packs()) {
    ++stats_.packs;
    if (one_type && pack.has_trees && pack.has_data)
      Report("pack " + pack.id.Hex() +
             " holds both trees and file data, which a version 2 repository never does");
    auto it = stored->find(pack.id);
    if (it == stored->end()) {
      Report("pack " + pack.id.Hex() + " is indexed but missing");
    } else if (it->second != pack.size) {
      Report("pack " + pack.id.Hex() + " is " + std::to_string(it->second) +
             " bytes, the index says " + std::to_string(pack.size));
    }
  }
  if (stats_.unindexed_packs && options_.note)
    options_.note(std::to_string(stats_.unindexed_packs) +
                  " pack(s) are in no index (left by an interrupted backup, or named by a "
                  "damaged index object): their own headers were used; the next backup or "
                  "`coffre repair index` indexes them");
  return Status::Ok();
}

void Checker::ReadPack(const repo::PackRecord& pack, const std::vector<format::PackEntry>& by_index,
                       crypto::HmacSha256& hasher) {
  const std::string name = "pack " + pack.id.Hex();
  auto bytes = repo_.backend().Load({storage::ObjectKind::kData, pack.id.Hex()});
  if (!bytes) {
    Report(name + ": " + bytes.error().message());
    return;
  }
  if (PackId(crypto::Sha256(*bytes)) != pack.id) {
    Report(name + ": content does not match its name (damaged)");
    // Go on: the blobs say which files are affected.
  }
  ByteView all(*bytes);
  std::vector<format::PackEntry> header_entries;
  auto header = format::ReadPackContents(
      repo_.keys().data_key, all.size(), [&](uint64_t offset, uint64_t length) -> Result<Bytes> {
        ByteView part = all.subspan(offset, length);
        return Bytes(part.begin(), part.end());
      });
  if (!header) {
    Report(name + ": header: " + header.error().message());
  } else {
    header_entries = std::move(header->entries);
  }
  crypto::Key key = format::PackKey(repo_.keys().data_key, pack.salt);
  // The pack's own header lists every blob; if it is damaged, the index
  // still says which blobs (and so which files) the pack held.
  const std::vector<format::PackEntry>& entries = header_entries.empty() ? by_index : header_entries;
  if (!header_entries.empty()) {
    // What restore trusts is the index: every indexed location must be one
    // the pack itself declares.
    std::set<std::tuple<BlobId, uint64_t, uint32_t, uint32_t, int, int>> declared;
    for (const auto& e : header_entries)
      declared.emplace(e.id, e.offset, e.stored_len, e.raw_len, static_cast<int>(e.type),
                       static_cast<int>(e.codec));
    for (const auto& e : by_index) {
      if (!declared.count({e.id, e.offset, e.stored_len, e.raw_len, static_cast<int>(e.type),
                           static_cast<int>(e.codec)}))
        Report(name + ": blob " + e.id.Short() + ": the index disagrees with the pack header");
    }
  }
  uint64_t blobs = 0;
  for (const format::PackEntry& entry : entries) {
    if (entry.offset + entry.stored_len > all.size()) {
      Report(name + ": blob " + entry.id.Short() + " lies past the end of the pack");
      continue;
    }
    auto plain = format::OpenBlob(key, entry, all.subspan(entry.offset, entry.stored_len));
    if (!plain) {
      Report(name + ": blob " + entry.id.Short() + ": " + plain.error().message());
    } else if (BlobId(hasher.Compute(*plain)) != entry.id) {
      Report(name + ": blob " + entry.id.Short() + ": content does not match its id");
    }
    ++blobs;
  }
  std::lock_guard lock(mu_);
  stats_.blobs_read += blobs;
}

Status Checker::ReadAllData(const std::map<PackId, uint64_t>& stored) {
  auto by_pack = repo_.index().EntriesByPack();
  std::vector<repo::PackRecord> packs;
  for (const repo::PackRecord& pack : repo_.index().Packs())
    if (stored.count(pack.id)) packs.push_back(pack);
  // Packs are independent: read them on all cores, each worker with its own
  // HMAC context.
  size_t threads = DefaultConcurrency();
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      auto hasher = repo_.NewHasher();
      static const std::vector<format::PackEntry> kNone;
      for (size_t i = next++; i < packs.size() && !Cancelled(); i = next++) {
        auto it = by_pack.find(packs[i].id);
        ReadPack(packs[i], it == by_pack.end() ? kNone : it->second, *hasher);
      }
    });
  }
  for (auto& w : workers) w.join();
  if (Cancelled()) return CancelledError("interrupted");
  return Status::Ok();
}

}  // namespace

Result<CheckStats> RunCheck(repo::Repository& repo, const CheckOptions& options) {
  Checker checker(repo, options);
  RETURN_IF_ERROR(checker.Run());
  return checker.stats();
}

}  // namespace coffre::maintain
