// Reading a filesystem entry's metadata into a tree Node, and the entries of
// a directory. Every call is relative to an open directory fd and never
// follows a symlink, so paths of any length work and nothing is read through
// a link planted during the walk.
// Thread-safety: free functions; the user/group name cache is locked.
#pragma once

#include <string>
#include <vector>

#include "core/format/tree.h"

namespace coffre::fsmeta {

// Entry names of an open directory, without "." and "..", sorted bytewise.
Result<std::vector<std::string>> ListDir(int dirfd);

// lstat-equivalent metadata of `name` in `dirfd`: type, mode, ids and names,
// times, size, inode, device, nlink, symlink target, rdev and xattrs (names
// and values, sorted). Leaves content, subtree, link_group and sparse empty.
// size is set for files only, rdev for devices only. `name` must be one path
// component (format::IsSafeName) or "." (the directory itself); else
// kInvalidArgument. kNotFound if it vanished; other errors as ErrnoStatus.
Result<format::Node> ReadNode(int dirfd, const std::string& name);

// ReadNode without the xattrs: the walk reads those through an fd it opens
// anyway, or takes them from the parent snapshot when the ctime (which every
// xattr change bumps) is unchanged. Same errors as ReadNode.
Result<format::Node> ReadNodeStat(int dirfd, const std::string& name);

// Xattrs of an entry (no follow), sorted by name. Filesystems without xattr
// support give an empty list, not an error.
Result<std::vector<format::Xattr>> ReadXattrs(int dirfd, const std::string& name);
// The same through an open file or directory fd: no path lookup at all.
// `name` is only for messages.
Result<std::vector<format::Xattr>> ReadXattrsOfFd(int fd, const std::string& name);

// The data extents of an open regular file of `size` bytes, found with
// SEEK_DATA/SEEK_HOLE. Empty if the file has no hole (the common case), so
// only sparse files pay for the list, and empty too where the filesystem has
// no SEEK_DATA. A file of size > 0 that is all hole gives the single marker
// extent {offset = size, length = 0}, so it is told apart from a dense file.
// The file offset is restored before returning; data past `size` (a file
// that grew since the stat) is ignored.
Result<std::vector<format::Extent>> FindDataExtents(int fd, uint64_t size);

// User and group names for ids, "" when the system has none. Cached.
std::string UserName(uint32_t uid);
std::string GroupName(uint32_t gid);

}  // namespace coffre::fsmeta
