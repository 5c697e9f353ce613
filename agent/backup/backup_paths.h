// The paths a backup covers: what the user typed, made absolute and
// normalized, and the part of "/" that leads to them (the root tree of a
// snapshot holds "/" with only the folders on the way to the paths).
// Thread-safety: free functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace coffre::backup {

// Absolute, without "." or trailing slashes, sorted and unique. The folders
// leading to each path are resolved (/home -> /srv/home), so the walk down
// meets only real directories; the last component is kept: a symlink given
// by name is backed up as a symlink. ErrnoStatus if a path does not exist.
Result<std::vector<std::string>> NormalizePaths(const std::vector<std::string>& paths);

// A folder on the way to the paths; `is_target` marks a path itself, which
// is backed up whole (any children below it are then ignored);
// `is_virtual_file` one that is not read from disk (a command's output).
struct VirtualDir {
  std::map<std::string, VirtualDir> children;
  bool is_target = false;
  bool is_virtual_file = false;
};

// The tree of folders from "/" to every path of NormalizePaths.
VirtualDir BuildVirtualRoot(const std::vector<std::string>& paths);

// Adds files that are not on disk at `files` (absolute, normalized, none
// inside or above a path of `root` or of each other: CheckCommandSources).
void AddVirtualFiles(VirtualDir& root, const std::vector<std::string>& files);

// True if `dir` is a backup path or has one below it (the folders leading
// only to virtual files need not exist on disk).
bool LeadsToTarget(const VirtualDir& dir);

// The paths of NormalizePaths that are backed up whole: those not inside
// another one.
std::vector<std::string> OutermostPaths(const std::vector<std::string>& paths);

// `name` inside folder `dir` ("/" + name at the root).
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace coffre::backup
