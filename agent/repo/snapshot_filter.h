// SnapshotFilter: which snapshots a command acts on, by host, set of paths
// and tags: `coffre forget --host --path --tag`, and a coffre-agent job's
// retention, which must only ever judge the snapshots that job made.
// Thread-safety: a plain value.
#pragma once

#include <string>
#include <vector>

#include "core/format/snapshot.h"

namespace coffre::repo {

struct SnapshotFilter {
  std::string host;  // "" matches any host
  // Empty matches any paths; otherwise the snapshot's paths must be exactly
  // this set (order and repeats do not matter). Exact, not "contains": a
  // retention rule for /srv must not reach a snapshot of / and /srv.
  std::vector<std::string> paths;
  std::vector<std::string> tags;  // the snapshot must carry every one

  bool Empty() const { return host.empty() && paths.empty() && tags.empty(); }
  bool Matches(const format::Snapshot& snapshot) const;
};

}  // namespace coffre::repo
