#include "agent/repo/snapshot_filter.h"

#include <algorithm>
#include <set>

namespace coffre::repo {

bool SnapshotFilter::Matches(const format::Snapshot& snapshot) const {
  if (!host.empty() && snapshot.host != host) return false;
  if (!paths.empty()) {
    const std::set<std::string> want(paths.begin(), paths.end());
    const std::set<std::string> have(snapshot.paths.begin(), snapshot.paths.end());
    if (want != have) return false;
  }
  return std::all_of(tags.begin(), tags.end(), [&](const std::string& tag) {
    return std::find(snapshot.tags.begin(), snapshot.tags.end(), tag) != snapshot.tags.end();
  });
}

}  // namespace coffre::repo
