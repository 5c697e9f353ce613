#include "tests/support/fs_entries.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include <catch2/catch.hpp>

#include "agent/util/fd.h"

namespace coffre::testing {

void TouchAt(int dirfd, const std::string& name, const std::string& content, mode_t mode) {
  UniqueFd fd(openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  REQUIRE(fd.get() >= 0);
  REQUIRE(write(fd.get(), content.data(), content.size()) ==
          static_cast<ssize_t>(content.size()));
}

void SetMtime(int dirfd, const std::string& name, time_t sec, long nsec) {
  struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  REQUIRE(utimensat(dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

bool IsRoot() {
  if (geteuid() == 0) return true;
  WARN("not root: owner, device and trusted.* checks skipped");
  return false;
}

bool XattrsSupported(int dirfd) {
  TouchAt(dirfd, ".probe");
  std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/.probe";
  int rc = lsetxattr(path.c_str(), "user.probe", "1", 1, 0);
  int err = errno;
  unlinkat(dirfd, ".probe", 0);
  if (rc != 0 && err == ENOTSUP) {
    WARN("test filesystem has no user xattrs: xattr checks skipped");
    return false;
  }
  REQUIRE(rc == 0);
  return true;
}

}  // namespace coffre::testing
