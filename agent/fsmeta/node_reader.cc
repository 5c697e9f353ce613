// Reading entry metadata relative to a directory fd. Design notes:
// - Nothing here follows a symlink: fstatat(AT_SYMLINK_NOFOLLOW), readlinkat,
//   and the l*xattr calls. Those xattr calls take a path, not a dirfd, so we
//   name the entry "/proc/self/fd/<dirfd>/<name>": the magic link resolves to
//   the open directory (any depth, the path stays short) and the last
//   component is not followed by the l* variants.
// - An entry is never open()ed: opening a FIFO blocks and opening a device
//   can have side effects (a tape rewinds), so fgetxattr is not an option.
#include "agent/fsmeta/node_reader.h"

#include "agent/fsmeta/entry_name.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>

namespace coffre::fsmeta {
namespace {

// The reader accepts "." too, so a caller can read the directory it holds
// (the root of a backup has no parent to list it from). A '/' would let
// fstatat follow a symlink in an intermediate component.
Status CheckReadName(const std::string& name) {
  if (name == "." || format::IsSafeName(name)) return Status::Ok();
  return InvalidArgumentError("unsafe entry name " + Quote(name));
}

// ns since the epoch, saturated: int64 ns covers the years 1677..2262, and
// ext4/xfs can store times outside that range.
int64_t ToNanos(const struct timespec& ts) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  int64_t ns = 0;
  if (__builtin_mul_overflow(static_cast<int64_t>(ts.tv_sec), 1000000000,
                             &ns) ||
      __builtin_add_overflow(ns, static_cast<int64_t>(ts.tv_nsec), &ns)) {
    return ts.tv_sec < 0 ? kMin : kMax;
  }
  return ns;
}

Result<format::NodeType> TypeOf(mode_t mode, const std::string& name) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return format::NodeType::kFile;
    case S_IFDIR:
      return format::NodeType::kDir;
    case S_IFLNK:
      return format::NodeType::kSymlink;
    case S_IFIFO:
      return format::NodeType::kFifo;
    case S_IFCHR:
      return format::NodeType::kCharDevice;
    case S_IFBLK:
      return format::NodeType::kBlockDevice;
    case S_IFSOCK:
      return format::NodeType::kSocket;
  }
  return Err(IoError("unknown file type of " + Quote(name)));
}

Result<std::string> ReadLinkTarget(int dirfd, const std::string& name,
                                   size_t size_hint) {
  // st_size is only a hint (0 on procfs, and the link may be replaced), so
  // grow until the target fits with room to spare.
  std::string buf(std::max<size_t>(size_hint + 1, 256), '\0');
  for (;;) {
    ssize_t n = readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0) return Err(ErrnoStatus(errno, "readlink " + Quote(name)));
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(n);
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

// Looks `id` up through `lookup` (a getpwuid_r/getgrgid_r wrapper) once per
// process; misses are cached as "" so a tree of orphaned ids stays cheap.
template <typename Lookup>
std::string CachedName(std::unordered_map<uint32_t, std::string>& cache,
                       std::mutex& mu, uint32_t id, Lookup lookup) {
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(id);
    if (it != cache.end()) return it->second;
  }
  std::string name = lookup(id);  // NSS may block (LDAP): not under the lock
  std::lock_guard<std::mutex> lock(mu);
  cache.emplace(id, name);
  return name;
}

template <typename Entry, typename Fn>
std::string LookupName(uint32_t id, Fn fn) {
  std::string buf(1024, '\0');
  for (;;) {
    Entry entry;
    Entry* found = nullptr;
    int rc = fn(id, &entry, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 4);
      continue;
    }
    if (rc != 0 || found == nullptr) return "";
    if constexpr (std::is_same_v<Entry, struct passwd>)
      return found->pw_name;
    else
      return found->gr_name;
  }
}

}  // namespace

Result<std::vector<std::string>> ListDir(int dirfd) {
  // A fresh open file description: a dup() would share (and move) the
  // caller's directory offset, and fdopendir takes ownership of its fd.
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Err(ErrnoStatus(errno, "open directory"));
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    Status status = ErrnoStatus(errno, "open directory");
    close(fd);
    return Err(status);
  }
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    struct dirent* entry = readdir(dir);
    if (entry == nullptr) break;
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  int err = errno;
  closedir(dir);
  if (err != 0) return Err(ErrnoStatus(err, "read directory"));
  std::sort(names.begin(), names.end());  // char_traits<char>: bytewise
  return names;
}

Result<format::Node> ReadNode(int dirfd, const std::string& name) {
  ASSIGN_OR_RETURN(format::Node node, ReadNodeStat(dirfd, name));
  ASSIGN_OR_RETURN(node.xattrs, ReadXattrs(dirfd, name));
  return node;
}

Result<format::Node> ReadNodeStat(int dirfd, const std::string& name) {
  RETURN_IF_ERROR(CheckReadName(name));
  struct stat st;
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return Err(ErrnoStatus(errno, "stat " + Quote(name)));
  }
  format::Node node;
  node.name = name;
  ASSIGN_OR_RETURN(node.type, TypeOf(st.st_mode, name));
  node.mode = st.st_mode & 07777;
  node.uid = st.st_uid;
  node.gid = st.st_gid;
  node.user = UserName(st.st_uid);
  node.group = GroupName(st.st_gid);
  node.mtime_ns = ToNanos(st.st_mtim);
  node.ctime_ns = ToNanos(st.st_ctim);
  node.inode = st.st_ino;
  node.device = st.st_dev;
  node.nlink = st.st_nlink;
  // Only the fields that mean something for the type are set, so an
  // unchanged entry always encodes to the same tree bytes.
  switch (node.type) {
    case format::NodeType::kFile:
      node.size = static_cast<uint64_t>(st.st_size);
      break;
    case format::NodeType::kSymlink: {
      ASSIGN_OR_RETURN(node.link_target,
                       ReadLinkTarget(dirfd, name, st.st_size));
      break;
    }
    case format::NodeType::kCharDevice:
    case format::NodeType::kBlockDevice:
      node.rdev = st.st_rdev;
      break;
    default:
      break;
  }
  return node;
}

namespace {

// The xattr reading loop, over either the path calls (l*xattr) or the fd
// calls (f*xattr): `list(buf, size)` and `get(key, buf, size)` behave like
// llistxattr/lgetxattr on the entry.
template <typename List, typename Get>
Result<std::vector<format::Xattr>> ReadXattrsWith(const std::string& name, List list_fn,
                                                  Get get_fn) {
  std::string list;
  for (;;) {  // the list may grow between the size query and the read
    ssize_t n = list_fn(nullptr, 0);
    if (n < 0 && (errno == ENOTSUP)) return std::vector<format::Xattr>{};
    if (n < 0) return Err(ErrnoStatus(errno, "list xattrs of " + Quote(name)));
    list.resize(n);
    if (n == 0) break;
    n = list_fn(list.data(), list.size());
    if (n >= 0) {
      list.resize(n);
      break;
    }
    if (errno != ERANGE) {
      return Err(ErrnoStatus(errno, "list xattrs of " + Quote(name)));
    }
  }
  std::vector<format::Xattr> xattrs;
  for (size_t pos = 0; pos < list.size();) {
    std::string key(list.c_str() + pos);
    pos += key.size() + 1;
    if (key.empty()) continue;
    Bytes value;
    bool vanished = false;
    for (;;) {
      ssize_t n = get_fn(key.c_str(), nullptr, 0);
      if (n >= 0) {
        value.resize(n);
        n = get_fn(key.c_str(), value.data(), value.size());
      }
      if (n >= 0) {
        value.resize(n);
        break;
      }
      if (errno == ERANGE) continue;  // grew between the two calls
      if (errno == ENODATA) {         // removed since the list was read
        vanished = true;
        break;
      }
      return Err(
          ErrnoStatus(errno, "read xattr " + key + " of " + Quote(name)));
    }
    if (!vanished) xattrs.push_back({std::move(key), std::move(value)});
  }
  std::sort(xattrs.begin(), xattrs.end(),
            [](const format::Xattr& a, const format::Xattr& b) {
              return a.name < b.name;
            });
  return xattrs;
}

}  // namespace

Result<std::vector<format::Xattr>> ReadXattrs(int dirfd,
                                              const std::string& name) {
  RETURN_IF_ERROR(CheckReadName(name));
  const std::string path = ProcPath(dirfd, name);
  return ReadXattrsWith(
      name, [&](char* buf, size_t size) { return llistxattr(path.c_str(), buf, size); },
      [&](const char* key, void* buf, size_t size) {
        return lgetxattr(path.c_str(), key, buf, size);
      });
}

Result<std::vector<format::Xattr>> ReadXattrsOfFd(int fd, const std::string& name) {
  return ReadXattrsWith(
      name, [&](char* buf, size_t size) { return flistxattr(fd, buf, size); },
      [&](const char* key, void* buf, size_t size) { return fgetxattr(fd, key, buf, size); });
}

Result<std::vector<format::Extent>> FindDataExtents(int fd, uint64_t size) {
  std::vector<format::Extent> extents;
  if (size == 0) return extents;
  // Seeking moves the shared file offset; put it back so a caller that
  // reads with read() after this call starts where it was.
  off_t saved = lseek(fd, 0, SEEK_CUR);
  if (saved < 0) return Err(ErrnoStatus(errno, "seek"));
  uint64_t pos = 0;
  Status status;
  while (pos < size) {
    off_t data = lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no data at or after pos: a trailing hole
      if (errno == EINVAL && pos == 0) {
        // No SEEK_DATA on this filesystem: treat the file as dense.
        extents.clear();
        extents.push_back({0, size});
        break;
      }
      status = ErrnoStatus(errno, "seek data");
      break;
    }
    if (static_cast<uint64_t>(data) >= size) break;  // grew since the stat
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) {
      status = ErrnoStatus(errno, "seek hole");
      break;
    }
    uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    extents.push_back({static_cast<uint64_t>(data), end - data});
    pos = end;
  }
  if (lseek(fd, saved, SEEK_SET) < 0 && status.ok()) {
    status = ErrnoStatus(errno, "seek");
  }
  if (!status.ok()) return Err(status);
  if (extents.size() == 1 && extents[0] == format::Extent{0, size}) {
    extents.clear();  // dense: the common case costs nothing in the tree
  } else if (extents.empty()) {
    extents.push_back({size, 0});  // all hole: see the header
  }
  return extents;
}

std::string UserName(uint32_t uid) {
  static std::mutex mu;
  static std::unordered_map<uint32_t, std::string> cache;
  return CachedName(cache, mu, uid, [](uint32_t id) {
    return LookupName<struct passwd>(id, getpwuid_r);
  });
}

std::string GroupName(uint32_t gid) {
  static std::mutex mu;
  static std::unordered_map<uint32_t, std::string> cache;
  return CachedName(cache, mu, gid, [](uint32_t id) {
    return LookupName<struct group>(id, getgrgid_r);
  });
}

}  // namespace coffre::fsmeta
