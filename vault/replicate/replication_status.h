// ReplicationStatus: what `coffre-vault replicate` knows of one tenant's
// replica, kept in DATA/replication/TENANT@HOST_PORT.json (format version 1,
// docs/sovereignty.md "Replication status"): how far behind it is, and the
// deletes it waits to pass on. `replication status` and /metrics read it.
// Thread-safety: free functions; one replicate job per tenant writes it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace coffre::vault {

struct ReplicationStatus {
  std::string tenant;
  std::string to;           // the replica's URL, https://HOST:PORT
  std::string to_location;  // what it declared
  int64_t pass_started_ns = 0;      // the pass running or last run (wall clock)
  int64_t synced_as_of_ns = 0;      // start of the last pass that finished: all older is there
  uint64_t objects_behind = 0;      // what the replica lacks, as of the last comparison
  uint64_t bytes_behind = 0;
  uint64_t objects_sent = 0;        // by the pass running or last run
  uint64_t bytes_sent = 0;
  uint64_t deleted = 0;             // deletes passed on, ever
  // "REPO/KIND/NAME" absent from the primary since this time (wall ns),
  // to be deleted from the replica once the delay has passed.
  std::map<std::string, int64_t> pending_deletes;
  // "REPO/KIND/NAME" index and snapshot objects new in a pass that saw a
  // prune (an index object gone here), since this time: sent with that
  // prune's deletes, so the replica keeps the state before it until then.
  std::map<std::string, int64_t> held;
  std::string last_error;           // "" after a pass that finished
};

// DATA/replication/TENANT@HOST_PORT.json: one file per tenant and replica,
// so that a tenant with three copies has two replicate jobs side by side.
std::string ReplicationStatusPath(const std::string& data_dir, const std::string& tenant,
                                  const std::string& host, int port);
// kNotFound if absent; kCorruption or kUnsupportedVersion for a bad file.
Result<ReplicationStatus> ReadReplicationStatus(const std::string& path);
// Written whole to a temporary file, then renamed over.
Status WriteReplicationStatus(const std::string& path, const ReplicationStatus& status);
// Every tenant's and replica's, sorted by tenant then replica; files that
// do not read are skipped.
std::vector<ReplicationStatus> ReadAllReplicationStatus(const std::string& data_dir);

}  // namespace coffre::vault
