#include "agent/backup/dir_listing.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "agent/fsmeta/node_reader.h"

namespace coffre::backup {

DirListing ReadDirectory(const SharedDirFd& dir, const std::string& name) {
  return ReadDirectory(dir, name, nullptr, std::string(), true);
}

DirListing ReadDirectory(const SharedDirFd& dir, const std::string& name,
                         const ExcludeFilter* excludes, const std::string& path, bool is_target) {
  DirListing out;
  const int at = dir ? dir->get() : AT_FDCWD;
  UniqueFd fd(openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || fstat(fd.get(), &st) != 0) {
    out.error = ErrnoStatus(errno, "open");
    return out;
  }
  auto xattrs = fsmeta::ReadXattrsOfFd(fd.get(), name);
  if (!xattrs) {
    out.error = xattrs.error();
    return out;
  }
  out.device = st.st_dev;
  out.inode = st.st_ino;
  out.xattrs = std::move(*xattrs);
  out.fd = std::make_shared<const UniqueFd>(std::move(fd));

  const int dirfd = out.fd->get();
  auto names = fsmeta::ListDir(dirfd);
  if (!names) {
    out.list_error = names.error();
    return out;
  }
  if (excludes && !is_target) {
    if (auto marker = excludes->MarkerIn(dirfd, *names)) {
      out.excluded_by = std::move(*marker);
      return out;
    }
  }
  // The directory's path is split once; each entry's name goes in the last slot.
  std::vector<std::string_view> entry_path;
  const bool match = excludes && excludes->has_patterns();
  if (match) {
    entry_path = SplitPath(path);
    entry_path.emplace_back();
  }
  out.nodes.reserve(names->size());
  for (const std::string& entry : *names) {
    if (match) {
      entry_path.back() = entry;
      if (excludes->Excluded(entry_path)) continue;
    }
    auto node = fsmeta::ReadNodeStat(dirfd, entry);
    if (!node) {
      out.skipped.emplace_back(entry, node.error());
      continue;
    }
    if (node->type != format::NodeType::kFile && node->type != format::NodeType::kDir) {
      auto entry_xattrs = fsmeta::ReadXattrs(dirfd, entry);
      if (!entry_xattrs) {
        out.skipped.emplace_back(entry, entry_xattrs.error());
        continue;
      }
      node->xattrs = std::move(*entry_xattrs);
    }
    out.nodes.push_back(std::move(*node));
  }
  return out;
}

}  // namespace coffre::backup
