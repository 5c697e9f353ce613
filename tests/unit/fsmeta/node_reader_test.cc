// Tests of agent/fsmeta/node_reader: metadata read relative to a dirfd,
// without following symlinks. Runs as root for owners, devices and
// trusted.* xattrs; those parts WARN and return when not root, and xattr
// parts WARN and return where the test filesystem has no xattrs.
#include "agent/util/fd.h"
#include "agent/fsmeta/node_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/random_data.h"
#include "tests/support/fs_entries.h"
#include "tests/support/temp_dir.h"

namespace coffre::fsmeta {
namespace {

using format::Extent;
using format::NodeType;
using format::Xattr;

constexpr uint64_t kMiB = 1024 * 1024;

int OpenDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  return fd;
}

// False (with a WARN) where `dirfd`'s filesystem cannot store user.* xattrs.
// The POSIX ACL "u::rw-,u:12345:rw-,g::r--,m::rw-,o::r--" as the kernel
// stores system.posix_acl_access: version 2, then (tag u16, perm u16, id u32).
const Bytes kAclBytes = {
    0x02, 0x00, 0x00, 0x00,                          // version
    0x01, 0x00, 0x06, 0x00, 0xff, 0xff, 0xff, 0xff,  // user::rw-
    0x02, 0x00, 0x06, 0x00, 0x39, 0x30, 0x00, 0x00,  // user:12345:rw-
    0x04, 0x00, 0x04, 0x00, 0xff, 0xff, 0xff, 0xff,  // group::r--
    0x10, 0x00, 0x06, 0x00, 0xff, 0xff, 0xff, 0xff,  // mask::rw-
    0x20, 0x00, 0x04, 0x00, 0xff, 0xff, 0xff, 0xff,  // other::r--
};

TEST_CASE(
    "fsmeta reads a regular file's mode, owner, size and nanosecond mtime",
    "[unit][fsmeta]") {
  testing::TempDir tmp;
  UniqueFd dir(OpenDir(tmp.path()));
  testing::TouchAt(dir.get(), "f", "hello\n");
  REQUIRE(fchmodat(dir.get(), "f", 0640, 0) == 0);
  const bool root = testing::IsRoot();
  if (root) REQUIRE(fchownat(dir.get(), "f", 12345, 23456, 0) == 0);
  testing::SetMtime(dir.get(), "f", 1234567890, 123456789);

  auto node = ReadNode(dir.get(), "f");
  REQUIRE(node);
  struct stat st;
  REQUIRE(fstatat(dir.get(), "f", &st, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK(node->name == "f");
  CHECK(node->type == NodeType::kFile);
  CHECK(node->mode == 0640);
  CHECK(node->size == 6);
  CHECK(node->mtime_ns == 1234567890123456789);
  CHECK(node->ctime_ns ==
        st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec);
  CHECK(node->inode == st.st_ino);
  CHECK(node->device == st.st_dev);
  CHECK(node->nlink == 1);
  CHECK(node->rdev == 0);
  CHECK(node->link_target.empty());
  CHECK(node->content.empty());
  CHECK(node->sparse.empty());
  if (root) {
    CHECK(node->uid == 12345);
    CHECK(node->gid == 23456);
    if (getpwuid(12345) == nullptr) CHECK(node->user.empty());
  }
  CHECK(UserName(0) == "root");
  CHECK(GroupName(0) == "root");
}

TEST_CASE("fsmeta reads symlink targets without following them",
          "[unit][fsmeta]") {
  testing::TempDir tmp;
  UniqueFd dir(OpenDir(tmp.path()));
  const std::string long_target(4000, 'x');  // beyond the first buffer size
  const std::vector<std::pair<std::string, std::string>> links = {
      {"dangling", "no/such/target"},
      {"absolute", "/etc/passwd"},
      {"loop", "loop"},
      {"odd\xff\n", "\xfe\ntarget"},
      {"long", long_target}};
  for (const auto& [name, target] : links) {
    REQUIRE(symlinkat(target.c_str(), dir.get(), name.c_str()) == 0);
  }
  for (const auto& [name, target] : links) {
    auto node = ReadNode(dir.get(), name);
    REQUIRE(node);
    CHECK(node->type == NodeType::kSymlink);
    CHECK(node->link_target == target);
    CHECK(node->size == 0);
    CHECK(node->mode == 0777);
  }
  // A link to a file with xattrs has none of its own: l* calls do not follow.
  if (testing::XattrsSupported(dir.get())) {
    testing::TouchAt(dir.get(), "target");
    REQUIRE(setxattr((tmp.path() + "/target").c_str(), "user.a", "1", 1, 0) ==
            0);
    REQUIRE(symlinkat("target", dir.get(), "to-target") == 0);
    auto xattrs = ReadXattrs(dir.get(), "to-target");
    REQUIRE(xattrs);
    CHECK(xattrs->empty());
    auto followed = ReadXattrs(dir.get(), "target");
    REQUIRE(followed);
    CHECK(followed->size() == 1);
  }
}

TEST_CASE("fsmeta reads FIFOs and device nodes with their device numbers",
          "[unit][fsmeta]") {
  testing::TempDir tmp;
  UniqueFd dir(OpenDir(tmp.path()));
  REQUIRE(mkfifoat(dir.get(), "fifo", 0640) == 0);
  REQUIRE(fchmodat(dir.get(), "fifo", 0640, 0) == 0);  // past the umask
  auto fifo = ReadNode(dir.get(), "fifo");             // must not block on open
  REQUIRE(fifo);
  CHECK(fifo->type == NodeType::kFifo);
  CHECK(fifo->mode == 0640);
  CHECK(fifo->size == 0);
  CHECK(fifo->rdev == 0);
  if (!testing::IsRoot()) return;
  REQUIRE(mknodat(dir.get(), "null", S_IFCHR | 0666, makedev(1, 3)) == 0);
  REQUIRE(mknodat(dir.get(), "loop", S_IFBLK | 0660, makedev(7, 0)) == 0);
  auto chr = ReadNode(dir.get(), "null");
  REQUIRE(chr);
  CHECK(chr->type == NodeType::kCharDevice);
  CHECK(chr->rdev == makedev(1, 3));
  CHECK(chr->size == 0);
  auto blk = ReadNode(dir.get(), "loop");
  REQUIRE(blk);
  CHECK(blk->type == NodeType::kBlockDevice);
  CHECK(blk->rdev == makedev(7, 0));
}

TEST_CASE("fsmeta lists raw names sorted bytewise and reads them",
          "[unit][fsmeta]") {
  testing::TempDir tmp;
  UniqueFd dir(OpenDir(tmp.path()));
  const std::string longest(255, 'n');
  // Bytewise order: 'Z' < 'a', "new\n" < "nnn", and 0xff (negative as a
  // signed char) last.
  const std::vector<std::string> expected = {"Z",         "a",     "b",
                                             "new\nline", longest, "\xff\xfe"};
  for (std::string name : {"b", "\xff\xfe", "a", "new\nline", "Z"}) {
    testing::TouchAt(dir.get(), name);
  }
  testing::TouchAt(dir.get(), longest);
  auto names = ListDir(dir.get());
  REQUIRE(names);
  CHECK(*names == expected);
  auto again = ListDir(dir.get());  // the caller's fd offset is not consumed
  REQUIRE(again);
  CHECK(*again == expected);
  for (const std::string& name : expected) {
    auto node = ReadNode(dir.get(), name);
    REQUIRE(node);
    CHECK(node->name == name);
  }
}

TEST_CASE("fsmeta ReadNode reports a vanished entry and refuses paths",
          "[unit][fsmeta]") {
  testing::TempDir tmp;
  UniqueFd dir(OpenDir(tmp.path()));
  REQUIRE(mkdirat(dir.get(), "sub", 0755) == 0);
  testing::TouchAt(dir.get(), "sub/f");
  auto missing = ReadNode(dir.get(), "gone");
  REQUIRE(!missing);
  CHECK(missing.error().code() == ErrorCode::kNotFound);
  for (const std::string& bad :
       std::vector<std::string>{"sub/f", "..", "", std::string(256, 'x')}) {
    auto node = ReadNode(dir.get(), bad);
    REQUIRE(!node);
    CHECK(node.error().code() == ErrorCode::kInvalidArgument);
  }
  auto self = ReadNode(dir.get(), ".");
  REQUIRE(self);
  CHECK(self->type == NodeType::kDir);
  CHECK(self->size == 0);
}

TEST_CASE(
    "fsmeta reads xattrs of every namespace and a POSIX ACL sorted by name",
    "[unit][fsmeta]") {
  testing::TempDir tmp;
  UniqueFd dir(OpenDir(tmp.path()));
  if (!testing::XattrsSupported(dir.get()) || !testing::IsRoot()) return;
  testing::TouchAt(dir.get(), "f");
  const std::string path = tmp.Sub("f");
  const Bytes binary = {0x00, 0xff, 0x0a, 0x00};
  REQUIRE(lsetxattr(path.c_str(), "user.b", "2", 1, 0) == 0);
  REQUIRE(lsetxattr(path.c_str(), "user.a", "", 0, 0) == 0);
  REQUIRE(lsetxattr(path.c_str(), "trusted.t", binary.data(), binary.size(),
                    0) == 0);
  REQUIRE(lsetxattr(path.c_str(), "security.s", "sec", 3, 0) == 0);
  if (access("/usr/bin/setfacl", X_OK) == 0) {
    std::string cmd = "/usr/bin/setfacl -m u:12345:rw '" + path + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
  } else {
    REQUIRE(lsetxattr(path.c_str(), "system.posix_acl_access", kAclBytes.data(),
                      kAclBytes.size(), 0) == 0);
  }
  auto node = ReadNode(dir.get(), "f");
  REQUIRE(node);
  const std::vector<Xattr> expected = {{"security.s", ToBytes("sec")},
                                       {"system.posix_acl_access", kAclBytes},
                                       {"trusted.t", binary},
                                       {"user.a", {}},
                                       {"user.b", ToBytes("2")}};
  CHECK(node->xattrs == expected);
  CHECK(node->mode == 0664);  // the ACL mask shows as the group bits
}

TEST_CASE("fsmeta reads entries of a directory chain deeper than 4096 bytes",
          "[unit][fsmeta]") {
  testing::TempDir tmp;
  UniqueFd top(OpenDir(tmp.path()));
  const std::string component(200, 'd');
  std::string relative;
  int fd = dup(top.get());
  for (int i = 0; i < 25; ++i) {  // 25 * 201 bytes: past PATH_MAX
    REQUIRE(mkdirat(fd, component.c_str(), 0755) == 0);
    int next =
        openat(fd, component.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(next >= 0);
    close(fd);
    fd = next;
    relative += "/" + component;
  }
  UniqueFd deep(fd);
  testing::TouchAt(deep.get(), "leaf", "deep");
  REQUIRE(relative.size() > 4096);
  struct stat st;  // the plain path is too long for the kernel
  CHECK(lstat((tmp.path() + relative + "/leaf").c_str(), &st) != 0);
  CHECK(errno == ENAMETOOLONG);

  auto node = ReadNode(deep.get(), "leaf");
  REQUIRE(node);
  CHECK(node->size == 4);
  if (testing::XattrsSupported(deep.get())) {
    UniqueFd leaf(openat(deep.get(), "leaf", O_RDONLY | O_CLOEXEC));
    REQUIRE(fsetxattr(leaf.get(), "user.deep", "yes", 3, 0) == 0);
    auto xattrs = ReadXattrs(deep.get(), "leaf");
    REQUIRE(xattrs);
    CHECK(*xattrs == std::vector<Xattr>{{"user.deep", ToBytes("yes")}});
  }
  testing::RemoveAllAt(top.get(), component);
}

// A file of `size` bytes with 4 KiB of data at each offset in `data_at`.
int MakeSparse(int dirfd, uint64_t size, const std::vector<uint64_t>& data_at) {
  int fd =
      openat(dirfd, "sparse", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(ftruncate(fd, static_cast<off_t>(size)) == 0);
  Bytes block = testing::RandomBytes(7, 4096);
  for (uint64_t offset : data_at) {
    REQUIRE(pwrite(fd, block.data(), block.size(), offset) == 4096);
  }
  return fd;
}

TEST_CASE("fsmeta finds the data extents of sparse files", "[unit][fsmeta]") {
  testing::TempDir tmp;
  UniqueFd dir(OpenDir(tmp.path()));
  SECTION("two islands of data in 10 MiB") {
    UniqueFd fd(MakeSparse(dir.get(), 10 * kMiB, {1 * kMiB, 9 * kMiB}));
    REQUIRE(lseek(fd.get(), 123, SEEK_SET) == 123);
    auto extents = FindDataExtents(fd.get(), 10 * kMiB);
    REQUIRE(extents);
    CHECK(*extents == std::vector<Extent>{{1 * kMiB, 4096}, {9 * kMiB, 4096}});
    CHECK(lseek(fd.get(), 0, SEEK_CUR) == 123);  // offset put back
  }
  SECTION("data then a trailing hole") {
    UniqueFd fd(MakeSparse(dir.get(), kMiB, {0}));
    auto extents = FindDataExtents(fd.get(), kMiB);
    REQUIRE(extents);
    CHECK(*extents == std::vector<Extent>{{0, 4096}});
  }
  SECTION("a leading hole then data to the end") {
    UniqueFd fd(MakeSparse(dir.get(), kMiB, {kMiB - 4096}));
    auto extents = FindDataExtents(fd.get(), kMiB);
    REQUIRE(extents);
    CHECK(*extents == std::vector<Extent>{{kMiB - 4096, 4096}});
  }
  SECTION("a file that is all hole gives the end-of-file marker") {
    UniqueFd fd(MakeSparse(dir.get(), 5 * kMiB, {}));
    auto extents = FindDataExtents(fd.get(), 5 * kMiB);
    REQUIRE(extents);
    CHECK(*extents == std::vector<Extent>{{5 * kMiB, 0}});
  }
  SECTION("a dense file and an empty file give no extents") {
    UniqueFd fd(MakeSparse(dir.get(), 0, {}));
    auto empty = FindDataExtents(fd.get(), 0);
    REQUIRE(empty);
    CHECK(empty->empty());
    Bytes data = testing::RandomBytes(1, 100 * 1024);
    REQUIRE(write(fd.get(), data.data(), data.size()) ==
            static_cast<ssize_t>(data.size()));
    auto dense = FindDataExtents(fd.get(), data.size());
    REQUIRE(dense);
    CHECK(dense->empty());
  }
  SECTION("data written past the size seen by the stat is ignored") {
    UniqueFd fd(MakeSparse(dir.get(), 2 * kMiB, {0, kMiB + 4096}));
    auto extents = FindDataExtents(fd.get(), kMiB);
    REQUIRE(extents);
    CHECK(*extents == std::vector<Extent>{{0, 4096}});
  }
}

}  // namespace
}  // namespace coffre::fsmeta
