// Small filesystem helpers for tests that work through directory fds (the
// fsmeta tests): create a file, set an mtime, and probe what the machine
// allows (root, user xattrs) so a test can skip with a WARN instead of fail.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <string>

namespace coffre::testing {

// Creates or truncates `name` in `dirfd` with `content` and `mode`.
void TouchAt(int dirfd, const std::string& name, const std::string& content = "",
             mode_t mode = 0644);
// Sets atime and mtime of `name` (not following a symlink).
void SetMtime(int dirfd, const std::string& name, time_t sec, long nsec);
// True when running as root; otherwise WARNs that root-only checks are skipped.
bool IsRoot();
// True if the filesystem of `dirfd` takes user.* xattrs; else WARNs.
bool XattrsSupported(int dirfd);

}  // namespace coffre::testing
