// DirListing: one directory as the backup walk sees it on disk: its open fd,
// its own xattrs and every entry's metadata, read without the repository's
// key (the change cache is applied later, by DirScanner). Reading is split
// out so it can start while the key is still being derived. Entries that an
// ExcludeFilter leaves out are dropped by name, before they are stat'ed.
// Thread-safety: free function; a DirListing is a plain value.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/backup/exclude_rules.h"
#include "agent/util/fd.h"
#include "core/format/tree.h"

namespace coffre::backup {

// An open directory shared by whoever reads from it (the walk, the scans of
// its children), so nobody outlives the fd it opens entries from.
using SharedDirFd = std::shared_ptr<const UniqueFd>;

struct DirListing {
  // Not OK: the directory could not be opened or its xattrs read; the walk
  // warns and leaves the entry out. Everything below is then empty.
  Status error;
  // Not OK: it was opened but could not be listed; the walk warns and saves
  // it as an empty directory.
  Status list_error;
  SharedDirFd fd;
  uint64_t device = 0;  // of the directory opened, to tell a replaced one
  uint64_t inode = 0;
  std::vector<format::Xattr> xattrs;  // of the directory itself
  // Its entries in name order, as fsmeta::ReadNodeStat reads them; entries
  // that are neither files nor directories carry their xattrs already.
  std::vector<format::Node> nodes;
  // Entries that could not be read, with why, in name order: (name, error).
  std::vector<std::pair<std::string, Status>> skipped;
  // Not empty: the directory holds this exclusion marker (ExcludeFilter::
  // MarkerIn); the walk leaves it out whole. `nodes` is then empty.
  std::string excluded_by;
};

// Opens directory `name` of `dir` without following a symlink (`dir` null:
// `name` is an absolute path, opened as given) and reads it.
DirListing ReadDirectory(const SharedDirFd& dir, const std::string& name);

// The same, leaving out what `excludes` excludes (null: nothing). `path` is
// the directory's absolute path; `is_target`: it is a backup path, which its
// own markers do not exclude (its entries are still filtered).
DirListing ReadDirectory(const SharedDirFd& dir, const std::string& name,
                         const ExcludeFilter* excludes, const std::string& path, bool is_target);

}  // namespace coffre::backup
