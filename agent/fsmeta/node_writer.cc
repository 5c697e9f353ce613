// Creating special entries and applying metadata on restore, relative to a
// directory fd and never through a symlink (see node_reader.cc for the
// /proc/self/fd path trick used for xattrs). The order of ApplyMetadata and
// its reasons are in docs/fidelity.md.
#include "agent/fsmeta/node_writer.h"

#include "agent/fsmeta/entry_name.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace coffre::fsmeta {
namespace {

Status CheckName(const std::string& name) {
  if (format::IsSafeName(name)) return Status::Ok();
  return InvalidArgumentError("unsafe entry name " + Quote(name) +
                              " in a tree: refused");
}

struct timespec FromNanos(int64_t ns) {
  // Floor division, so times before 1970 keep tv_nsec in [0, 1e9).
  int64_t sec = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    sec -= 1;
  }
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(rem);
  return ts;
}

// Removes whatever has `name`, so the new entry can take its place. Only an
// empty directory is removed; a non-empty one is an error, never a rm -r.
Status RemoveExisting(int dirfd, const std::string& name) {
  if (unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) {
    return Status::Ok();
  }
  if (errno == EISDIR && unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) == 0) {
    return Status::Ok();
  }
  return ErrnoStatus(errno, "replace " + Quote(name));
}

// The kernel allows user.* only on regular files and directories (EPERM
// elsewhere), so such an entry never had one: nothing is lost by skipping.
bool MaySetXattr(format::NodeType type, const std::string& key) {
  if (type == format::NodeType::kFile || type == format::NodeType::kDir) {
    return true;
  }
  return key.rfind("user.", 0) != 0;
}

}  // namespace

Status CreateSpecial(int dirfd, const format::Node& node) {
  RETURN_IF_ERROR(CheckName(node.name));
  const std::string& name = node.name;
  int rc = 0;
  switch (node.type) {
    case format::NodeType::kSocket:
      // A socket inode is only an address a live process bound; restored, it
      // would be a dead endpoint (connect gives ECONNREFUSED) and servers
      // unlink and re-bind theirs at start. Nothing of value to restore.
      return Status::Ok();
    case format::NodeType::kFile:
    case format::NodeType::kDir:
      return InvalidArgumentError("CreateSpecial given a file or directory " +
                                  Quote(name));
    case format::NodeType::kSymlink:
      // The C call would cut a target at a NUL and refuse an empty one with
      // a misleading ENOENT: say what is wrong instead.
      if (node.link_target.empty() ||
          node.link_target.find('\0') != std::string::npos) {
        return InvalidArgumentError("invalid symlink target for " +
                                    Quote(name));
      }
      RETURN_IF_ERROR(RemoveExisting(dirfd, name));
      rc = symlinkat(node.link_target.c_str(), dirfd, name.c_str());
      break;
    case format::NodeType::kFifo:
      RETURN_IF_ERROR(RemoveExisting(dirfd, name));
      // Private until ApplyMetadata sets owner and final mode.
      rc = mkfifoat(dirfd, name.c_str(), 0600);
      break;
    case format::NodeType::kCharDevice:
    case format::NodeType::kBlockDevice: {
      mode_t kind =
          node.type == format::NodeType::kCharDevice ? S_IFCHR : S_IFBLK;
      RETURN_IF_ERROR(RemoveExisting(dirfd, name));
      rc = mknodat(dirfd, name.c_str(), kind | 0600,
                   static_cast<dev_t>(node.rdev));
      break;
    }
    default:
      return InvalidArgumentError("unknown node type for " + Quote(name));
  }
  if (rc != 0) return ErrnoStatus(errno, "create " + Quote(name));
  return Status::Ok();
}

Status ApplyMetadata(int dirfd, const format::Node& node,
                     const ApplyOptions& options) {
  RETURN_IF_ERROR(CheckName(node.name));
  // CreateSpecial never creates a socket: nothing to apply to.
  if (node.type == format::NodeType::kSocket) return Status::Ok();
  const std::string& name = node.name;
  const bool is_symlink = node.type == format::NodeType::kSymlink;
  // Every step runs even when an earlier one failed: a restore that cannot
  // set one xattr should still get the mode and mtime right. The first
  // failure is what the caller sees.
  Status first;
  auto note = [&first](Status status) {
    if (first.ok() && !status.ok()) first = std::move(status);
  };

  // 1. Owner first: chown clears setuid/setgid and security.capability.
  if (options.owners && fchownat(dirfd, name.c_str(), node.uid, node.gid,
                                 AT_SYMLINK_NOFOLLOW) != 0) {
    if (!(errno == EPERM && geteuid() != 0)) {  // unprivileged: keep our ids
      note(ErrnoStatus(errno, "chown " + Quote(name)));
    }
  }
  // 2. Xattrs, before the mode: an ACL write rewrites the group bits, and the
  // chmod below then sets the exact mode (and with it the ACL mask).
  if (options.xattrs) {
    const std::string path = ProcPath(dirfd, name);
    for (const format::Xattr& xattr : node.xattrs) {
      if (!MaySetXattr(node.type, xattr.name)) continue;
      if (lsetxattr(path.c_str(), xattr.name.c_str(), xattr.value.data(),
                    xattr.value.size(), 0) != 0) {
        note(ErrnoStatus(
            errno, "set xattr " + Quote(xattr.name) + " on " + Quote(name)));
      }
    }
  }
  // 3. Mode. Linux has no mode on symlinks (always 0777). NOFOLLOW makes
  // glibc refuse (EOPNOTSUPP) if a symlink was planted where we expect a
  // file, instead of chmod-ing its target.
  if (!is_symlink && fchmodat(dirfd, name.c_str(), node.mode & 07777,
                              AT_SYMLINK_NOFOLLOW) != 0) {
    note(ErrnoStatus(errno, "chmod " + Quote(name)));
  }
  // 4. Times last: every step above changes ctime only, but writing content
  // or children (by the caller, before this call) changes mtime.
  struct timespec times[2] = {FromNanos(node.mtime_ns),
                              FromNanos(node.mtime_ns)};
  if (utimensat(dirfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    note(ErrnoStatus(errno, "set times of " + Quote(name)));
  }
  return first;
}

}  // namespace coffre::fsmeta
