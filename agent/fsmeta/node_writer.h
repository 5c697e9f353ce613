// Creating filesystem entries from tree Nodes and applying their metadata on
// restore. Every call is relative to an open directory fd and refuses unsafe
// names (format::IsSafeName), so nothing is created outside that directory.
// Thread-safety: free functions.
#pragma once

#include <string>

#include "core/format/tree.h"

namespace coffre::fsmeta {

// Creates a symlink, FIFO, socket placeholder (skipped: returns OK without
// creating), or device node named node.name in dirfd. An existing entry of
// that name is replaced (an empty directory too; a non-empty one is an
// error). Files and directories are created by the caller
// (kInvalidArgument here). The entry is created with mode 0600: call
// ApplyMetadata next. kInvalidArgument for an unsafe name or an empty
// symlink target; kPermissionDenied for a device when not root.
Status CreateSpecial(int dirfd, const format::Node& node);

struct ApplyOptions {
  bool owners = true;  // chown to node.uid/gid (needs root; else skipped)
  bool xattrs = true;
};

// Applies owner, xattrs, mode bits (after chown, which clears setuid) and
// mtime/atime (atime := mtime) to the existing entry node.name in dirfd,
// without following symlinks. Errors name the entry; a filesystem that does
// not support an xattr namespace yields kPermissionDenied/kIo for that call.
// Call it after the content of a file (a write clears setuid and file
// capabilities) and the children of a directory (they change its mtime).
// All steps run even after one fails; the first error is returned. Existing
// xattrs not in node are kept. user.* xattrs are skipped on entries other
// than files and directories (Linux refuses them there). A socket node is a
// no-op, as CreateSpecial never creates one. kInvalidArgument for an unsafe
// name, before anything is touched.
Status ApplyMetadata(int dirfd, const format::Node& node,
                     const ApplyOptions& options = {});

}  // namespace coffre::fsmeta
