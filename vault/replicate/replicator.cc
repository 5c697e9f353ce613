#include "vault/replicate/replicator.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/base/bytes.h"
#include "core/base/clock.h"
#include "core/crypto/hash.h"

namespace coffre::vault {
namespace {

using storage::ObjectKind;
using storage::ObjectName;

// In this order, so that the replica never holds a snapshot whose data or
// index has not arrived: a restore from it mid-pass sees older snapshots.
constexpr ObjectKind kOrder[] = {ObjectKind::kConfig, ObjectKind::kKey, ObjectKind::kData,
                                 ObjectKind::kIndex, ObjectKind::kSnapshot};

std::string KeyOf(const std::string& repo, const ObjectName& o) {
  return repo + "/" + storage::ObjectKindName(o.kind) + "/" + o.name;
}

Result<std::map<std::string, uint64_t>> Listing(storage::Backend& backend, ObjectKind kind) {
  std::map<std::string, uint64_t> out;
  RETURN_IF_ERROR(backend.List(kind, [&](const storage::ObjectInfo& info) {
    out[info.name] = info.size;
    return Status::Ok();
  }));
  return out;
}

struct Missing {
  ObjectName object;
  uint64_t size;
};

// One object from here to there, checked before it leaves.
Status Copy(storage::Backend& from, storage::Backend& to, const Missing& m, RateLimiter* limit) {
  ASSIGN_OR_RETURN(Bytes bytes, from.Load(m.object, 0, 0));
  if (m.object.kind != ObjectKind::kConfig) {
    const std::string digest = HexEncode(crypto::Sha256(bytes));
    if (digest != m.object.name)
      return CorruptionError(std::string("replicate: ") + storage::ObjectKindName(m.object.kind) +
                             std::string("/") + m.object.name +
                             " does not match its name here; not sent (run check)");
  }
  if (limit) limit->Acquire(bytes.size());
  Status saved = to.Save(m.object, bytes);
  // The vault answers an object already there with these bytes as a
  // success; a conflict is a config: another repository has that name there.
  if (saved.code() == ErrorCode::kAlreadyExists)
    return AlreadyExistsError("replicate: the replica holds another repository at " +
                              to.Location() + " (its config differs); nothing more was sent");
  return saved;
}

}  // namespace

Result<ReplicationStatus> Replicate(RepoStore& store, const Tenant& tenant, AuditLog& audit,
                                    const ReplicateOptions& options) {
  ReplicationStatus status;
  if (auto before = ReadReplicationStatus(options.status_path)) status = *before;
  const std::string to = "https://" + options.to_host + ":" + std::to_string(options.to_port);
  if (status.to != to) status = ReplicationStatus{};  // another replica: start afresh
  status.tenant = tenant.name;
  status.to = to;
  status.pass_started_ns = WallNs();
  status.objects_sent = status.bytes_sent = 0;

  storage::vault::VaultUrl url;
  url.host = options.to_host;
  url.port = options.to_port;
  url.tenant = tenant.name;
  url.nodes = {{options.to_host, options.to_port}};
  auto fail = [&](Status s) -> Result<ReplicationStatus> {
    status.last_error = s.message();
    (void)WriteReplicationStatus(options.status_path, status);
    return Err(std::move(s));
  };

  // Placement first: not one byte to a location the tenant did not choose.
  auto location = storage::vault::VaultBackend::StorageLocation(url, options.vault);
  if (!location) return fail(location.error());
  status.to_location = *location;
  if (!tenant.placement.Allows(status.to_location)) {
    (void)audit.Record({tenant.name, "", "replicate", "", "to " + to, 403});
    return fail(PermissionDeniedError(
        "placement: tenant '" + tenant.name + "' may be stored only in " +
        tenant.placement.Describe() + ", and the replica " + to + " is in " +
        (status.to_location.empty() ? "no declared location" : status.to_location) +
        "; nothing was sent"));
  }

  auto listed = store.Repos(tenant.name);
  if (!listed) return fail(listed.error());
  const std::vector<std::string>& repos = *listed;

  // Compare, repository by repository, then send what is missing.
  status.objects_behind = status.bytes_behind = 0;
  for (const std::string& repo : repos) {
    url.repo = repo;
    ASSIGN_OR_RETURN(storage::Backend * from, store.Find(tenant.name, repo));
    auto opened = storage::vault::VaultBackend::Open(url, options.vault);
    if (!opened && opened.error().code() == ErrorCode::kNotFound)
      opened = storage::vault::VaultBackend::Create(url, options.vault);
    if (!opened) return fail(opened.error());
    storage::Backend& there = **opened;

    std::vector<Missing> missing;
    std::set<std::string> absent_here;  // on the replica only
    for (ObjectKind kind : kOrder) {
      auto here = Listing(*from, kind);
      if (!here) return fail(here.error());
      auto theirs = Listing(there, kind);
      if (!theirs) return fail(theirs.error());
      for (const auto& [name, size] : *here) {
        if (!theirs->count(name)) missing.push_back({{kind, name}, size});
      }
      if (kind == ObjectKind::kConfig) {
        // The same name on both sides must be the same repository, or this
        // pass would mix two repositories' keys (and, after the delay,
        // delete the other's): its config says which it is.
        if (here->count(std::string(storage::kConfigName)) &&
            theirs->count(std::string(storage::kConfigName))) {
          const ObjectName config{ObjectKind::kConfig, std::string(storage::kConfigName)};
          auto mine_bytes = from->Load(config, 0, 0);
          if (!mine_bytes) return fail(mine_bytes.error());
          auto their_bytes = there.Load(config, 0, 0);
          if (!their_bytes) return fail(their_bytes.error());
          if (*mine_bytes != *their_bytes) {
            return fail(AlreadyExistsError("replicate: the replica holds another repository at " +
                                           there.Location() +
                                           " (its config differs); nothing of it was sent"));
          }
        }
        continue;  // never deleted
      }
      for (const auto& [name, size] : *theirs) {
        if (!here->count(name)) absent_here.insert(KeyOf(repo, {kind, name}));
      }
    }
    const int64_t now = WallNs();
    const std::string mine = repo + "/";
    // Deletes no longer wanted: the object is back here, or gone there.
    for (auto it = status.pending_deletes.begin(); it != status.pending_deletes.end();) {
      if (it->first.rfind(mine, 0) == 0 && !absent_here.count(it->first)) {
        it = status.pending_deletes.erase(it);
      } else {
        ++it;
      }
    }
    // A prune here rewrote the index (an index object gone): the index and
    // snapshot objects new in this pass are its result and wait with its
    // deletes, so that meanwhile the replica's readers see the state from
    // before it, every old pack still indexed (a superseding index that
    // arrived first would hide them).
    bool prune_seen = false;
    for (const std::string& key : absent_here) {
      const bool index = key.rfind(mine + "index/", 0) == 0;
      if (index && !status.pending_deletes.count(key)) prune_seen = true;
      status.pending_deletes.emplace(key, now);
    }
    std::vector<Missing> send;
    for (const Missing& m : missing) {
      const std::string key = KeyOf(repo, m.object);
      const bool holdable = m.object.kind == ObjectKind::kIndex || m.object.kind == ObjectKind::kSnapshot;
      if (holdable && (prune_seen || status.held.count(key))) {
        const int64_t since = status.held.emplace(key, now).first->second;
        if (now - since < options.delete_delay_ns) continue;  // still waiting
      }
      send.push_back(m);
    }
    for (const Missing& m : send) {
      ++status.objects_behind;
      status.bytes_behind += m.size;
    }
    (void)WriteReplicationStatus(options.status_path, status);

    // Kinds in order: a kind's objects go in parallel, the next kind after.
    size_t begin = 0;
    while (begin < send.size()) {
      size_t end = begin;
      while (end < send.size() && send[end].object.kind == send[begin].object.kind) ++end;
      std::atomic<size_t> next{begin};
      std::mutex mu;
      Status first_error;
      auto worker = [&] {
        for (size_t i; (i = next.fetch_add(1)) < end;) {
          Status s = Copy(*from, there, send[i], options.limit);
          std::lock_guard lock(mu);
          if (!s.ok()) {
            if (first_error.ok()) first_error = s;
            next = end;  // stop handing out work
            return;
          }
          status.held.erase(KeyOf(repo, send[i].object));
          ++status.objects_sent;
          status.bytes_sent += send[i].size;
          --status.objects_behind;
          status.bytes_behind -= send[i].size;
          // Small, and what a kill leaves for `replication status` to show.
          (void)WriteReplicationStatus(options.status_path, status);
        }
      };
      std::vector<std::thread> workers;
      for (size_t t = 0; t < std::max<size_t>(1, options.parallel); ++t) workers.emplace_back(worker);
      for (auto& w : workers) w.join();
      if (!first_error.ok()) return fail(first_error);
      begin = end;
    }
    // Held objects no longer here (a later prune removed them) wait for nothing.
    std::set<std::string> still_missing;
    for (const Missing& m : missing) still_missing.insert(KeyOf(repo, m.object));
    for (auto it = status.held.begin(); it != status.held.end();) {
      if (it->first.rfind(mine, 0) == 0 && !still_missing.count(it->first)) {
        it = status.held.erase(it);
      } else {
        ++it;
      }
    }

    // Deletes whose delay has passed, once nothing of this repository is
    // held any more (the held index lists what replaces what goes).
    bool holding = false;
    for (const auto& [key, since] : status.held) holding = holding || key.rfind(mine, 0) == 0;
    if (holding) continue;
    for (auto it = status.pending_deletes.begin(); it != status.pending_deletes.end();) {
      const std::string& key = it->first;
      if (key.rfind(mine, 0) != 0 || now - it->second < options.delete_delay_ns) {
        ++it;
        continue;
      }
      const std::string rest = key.substr(mine.size());
      const size_t slash = rest.find('/');
      auto kind = storage::ParseObjectKind(rest.substr(0, slash));
      if (kind) {
        Status removed = there.Remove({*kind, rest.substr(slash + 1)});
        if (!removed.ok() && removed.code() != ErrorCode::kNotFound) return fail(removed);
        ++status.deleted;
      }
      it = status.pending_deletes.erase(it);
    }
    (void)WriteReplicationStatus(options.status_path, status);
  }
  status.synced_as_of_ns = status.pass_started_ns;
  status.last_error.clear();
  RETURN_IF_ERROR(WriteReplicationStatus(options.status_path, status));
  return status;
}

}  // namespace coffre::vault
