#include "agent/backup/backup_paths.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>

#include <boost/filesystem.hpp>

namespace coffre::backup {

Result<std::vector<std::string>> NormalizePaths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    if (p.empty()) return Err(InvalidArgumentError("an empty path was given"));
    boost::system::error_code ec;
    boost::filesystem::path abs = boost::filesystem::absolute(p, boost::filesystem::current_path(ec));
    // Rebuilt from components: drops "." and trailing slashes alike.
    std::string normal;
    for (const auto& part : abs.lexically_normal()) {
      const std::string& s = part.string();
      if (s.empty() || s == "/" || s == ".") continue;
      normal.push_back('/');
      normal.append(s);
    }
    if (normal.empty()) normal.push_back('/');
    if (normal != "/") {
      size_t slash = normal.rfind('/');
      std::string parent = slash == 0 ? "/" : normal.substr(0, slash);
      char resolved[PATH_MAX];
      if (!realpath(parent.c_str(), resolved)) return Err(ErrnoStatus(errno, parent));
      std::string base = normal.substr(slash + 1);
      normal = std::string(resolved) == "/" ? "/" + base : std::string(resolved) + "/" + base;
    }
    struct stat st;
    if (lstat(normal.c_str(), &st) != 0) return Err(ErrnoStatus(errno, normal));
    out.push_back(normal);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// The node of `p` below `root`, created with the folders on the way.
VirtualDir* AddPath(VirtualDir& root, const std::string& p) {
  VirtualDir* dir = &root;
  size_t pos = 1;
  while (pos <= p.size() && p != "/") {
    size_t slash = p.find('/', pos);
    if (slash == std::string::npos) slash = p.size();
    dir = &dir->children[p.substr(pos, slash - pos)];
    pos = slash + 1;
  }
  return dir;
}

}  // namespace

VirtualDir BuildVirtualRoot(const std::vector<std::string>& paths) {
  VirtualDir root;
  for (const std::string& p : paths) AddPath(root, p)->is_target = true;
  return root;
}

void AddVirtualFiles(VirtualDir& root, const std::vector<std::string>& files) {
  for (const std::string& f : files) AddPath(root, f)->is_virtual_file = true;
}

bool LeadsToTarget(const VirtualDir& dir) {
  if (dir.is_target) return true;
  for (const auto& [name, child] : dir.children)
    if (LeadsToTarget(child)) return true;
  return false;
}

std::vector<std::string> OutermostPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    bool inside = std::any_of(out.begin(), out.end(), [&](const std::string& q) {
      return q == "/" || (p.size() > q.size() && p.compare(0, q.size(), q) == 0 && p[q.size()] == '/');
    });
    if (!inside) out.push_back(p);
  }
  return out;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

}  // namespace coffre::backup
