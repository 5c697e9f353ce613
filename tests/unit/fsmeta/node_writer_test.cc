// Tests of agent/fsmeta/node_writer: every entry goes through ReadNode ->
// create a fresh entry -> ApplyMetadata -> ReadNode, and what can be
// restored must come back equal. Root-only parts WARN and return otherwise.
#include "agent/util/fd.h"
#include "agent/fsmeta/node_writer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "agent/fsmeta/node_reader.h"
#include "tests/support/fs_entries.h"
#include "tests/support/temp_dir.h"

namespace coffre::fsmeta {
namespace {

using format::Node;
using format::NodeType;
using format::Xattr;

int OpenDir(int dirfd, const std::string& name) {
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  return fd;
}

std::string ProcPath(int dirfd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
}

// What a restore can reproduce: not the inode, device, link count or ctime.
Node Restorable(Node node) {
  node.inode = node.device = node.nlink = 0;
  node.ctime_ns = 0;
  return node;
}

Node MustRead(int dirfd, const std::string& name) {
  auto node = ReadNode(dirfd, name);
  REQUIRE(node);
  return *node;
}

// Re-creates `source` (read from one directory) in `dest` the way a restore
// does: files and directories fresh and private, special entries through
// CreateSpecial, then ApplyMetadata. Returns what was read back.
Node RoundTrip(const Node& source, int dest) {
  if (source.type == NodeType::kFile) {
    testing::TouchAt(dest, source.name, "", 0600);
  } else if (source.type == NodeType::kDir) {
    REQUIRE(mkdirat(dest, source.name.c_str(), 0700) == 0);
  } else {
    Status created = CreateSpecial(dest, source);
    INFO(created.ToString());
    REQUIRE(created.ok());
  }
  Status applied = ApplyMetadata(dest, source);
  INFO(applied.ToString());
  REQUIRE(applied.ok());
  return MustRead(dest, source.name);
}

int MakeDir(int dirfd, const std::string& name) {
  REQUIRE(mkdirat(dirfd, name.c_str(), 0755) == 0);
  return OpenDir(dirfd, name);
}

// A source and a destination directory side by side.
struct Dirs {
  testing::TempDir tmp;
  UniqueFd top{OpenDir(AT_FDCWD, tmp.path())};
  UniqueFd src{MakeDir(top.get(), "src")};
  UniqueFd dst{MakeDir(top.get(), "dst")};
};

TEST_CASE("fsmeta restores setuid, setgid, sticky modes and unnamed owners",
          "[unit][fsmeta]") {
  if (!testing::IsRoot()) return;
  Dirs d;
  struct Case {
    std::string name;
    bool dir;
    mode_t mode;
    uid_t uid;
    gid_t gid;
  };
  // 12345/23456 have no passwd entry: owners are restored by number.
  const std::vector<Case> cases = {{"suid", false, 04755, 12345, 12345},
                                   {"sgid", false, 02750, 0, 12345},
                                   {"both", false, 06711, 12345, 23456},
                                   {"sticky", true, 01777, 12345, 12345},
                                   {"sgiddir", true, 02775, 23456, 23456}};
  for (const Case& c : cases) {
    if (c.dir) {
      REQUIRE(mkdirat(d.src.get(), c.name.c_str(), 0700) == 0);
    } else {
      testing::TouchAt(d.src.get(), c.name, "", 0600);
    }
    REQUIRE(fchownat(d.src.get(), c.name.c_str(), c.uid, c.gid, 0) == 0);
    REQUIRE(fchmodat(d.src.get(), c.name.c_str(), c.mode, 0) == 0);
    testing::SetMtime(d.src.get(), c.name, 1500000000, 999999999);
  }
  for (const Case& c : cases) {
    INFO(c.name);
    Node source = MustRead(d.src.get(), c.name);
    REQUIRE(source.mode == c.mode);  // the setup itself took
    Node restored = RoundTrip(source, d.dst.get());
    CHECK(Restorable(restored) == Restorable(source));
  }
}

TEST_CASE("fsmeta recreates symlinks, FIFOs and devices with their metadata",
          "[unit][fsmeta]") {
  if (!testing::IsRoot()) return;
  Dirs d;
  const int src = d.src.get();
  REQUIRE(symlinkat("no/such/target", src, "dangling") == 0);
  REQUIRE(symlinkat("/etc/passwd", src, "absolute") == 0);
  REQUIRE(symlinkat("loop", src, "loop") == 0);
  REQUIRE(symlinkat("\xfe\ntarget", src, "odd\xff\nname") == 0);
  REQUIRE(symlinkat("t", src, std::string(255, 'L').c_str()) == 0);
  REQUIRE(mkfifoat(src, "fifo", 0600) == 0);
  REQUIRE(mknodat(src, "null", S_IFCHR | 0600, makedev(1, 3)) == 0);
  REQUIRE(mknodat(src, "loop0", S_IFBLK | 0600, makedev(7, 0)) == 0);
  REQUIRE(fchmodat(src, "fifo", 0620, 0) == 0);
  REQUIRE(fchmodat(src, "null", 0666, 0) == 0);
  REQUIRE(fchownat(src, "fifo", 12345, 23456, 0) == 0);
  REQUIRE(fchownat(src, "dangling", 12345, 23456, AT_SYMLINK_NOFOLLOW) == 0);
  auto names = ListDir(src);
  REQUIRE(names);
  REQUIRE(names->size() == 8);
  for (const std::string& name : *names) {
    testing::SetMtime(src, name, 1234567890, 123456789);
    Node source = MustRead(src, name);
    Node restored = RoundTrip(source, d.dst.get());
    CHECK(Restorable(restored) == Restorable(source));
  }
  struct stat st;
  REQUIRE(fstatat(d.dst.get(), "null", &st, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == makedev(1, 3));
  CHECK(st.st_atim.tv_sec == 1234567890);  // atime := mtime
  CHECK(st.st_atim.tv_nsec == 123456789);
}

TEST_CASE("fsmeta restores mtimes to the nanosecond, also before 1970",
          "[unit][fsmeta]") {
  Dirs d;
  const int dst = d.dst.get();
  testing::TouchAt(dst, "f", "", 0600);
  REQUIRE(mkdirat(dst, "dir", 0755) == 0);
  REQUIRE(symlinkat("f", dst, "link") == 0);
  for (int64_t mtime : {int64_t{1234567890123456789}, int64_t{-1500000000}}) {
    for (std::string name : {"f", "dir", "link"}) {
      Node node = MustRead(dst, name);
      node.mtime_ns = mtime;
      Status status = ApplyMetadata(dst, node);
      INFO(name << ": " << status.ToString());
      REQUIRE(status.ok());
      CHECK(MustRead(dst, name).mtime_ns == mtime);
    }
  }
  struct stat st;  // -1.5 s is 2 s before the epoch plus 0.5 s
  REQUIRE(fstatat(dst, "f", &st, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK(st.st_mtim.tv_sec == -2);
  CHECK(st.st_mtim.tv_nsec == 500000000);
}

// security.capability, VFS_CAP_REVISION_2 (le32 magic | effective flag,
// then le32 permitted/inheritable pairs): cap_net_bind_service=ep.
const Bytes kCapBytes = {
    0x01, 0x00, 0x00, 0x02,                          // revision 2, effective
    0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // permitted: bit 10
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // upper 32 capabilities
};
// system.posix_acl_access of "u::rwx,u:12345:r-x,g::r-x,m::r-x,o::---".
const Bytes kAclBytes = {
    0x02, 0x00, 0x00, 0x00,                          // version
    0x01, 0x00, 0x07, 0x00, 0xff, 0xff, 0xff, 0xff,  // user::rwx
    0x02, 0x00, 0x05, 0x00, 0x39, 0x30, 0x00, 0x00,  // user:12345:r-x
    0x04, 0x00, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff,  // group::r-x
    0x10, 0x00, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff,  // mask::r-x
    0x20, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,  // other::---
};

TEST_CASE(
    "fsmeta restores xattrs, POSIX ACLs and file capabilities after the owner",
    "[unit][fsmeta]") {
  Dirs d;
  if (!testing::IsRoot() || !testing::XattrsSupported(d.src.get())) return;
  const int src = d.src.get();
  testing::TouchAt(src, "f", "", 0600);
  REQUIRE(fchownat(src, "f", 12345, 23456, 0) == 0);
  const std::string f = ProcPath(src, "f");
  REQUIRE(lsetxattr(f.c_str(), "user.a", "\x00\xff", 2, 0) == 0);
  REQUIRE(lsetxattr(f.c_str(), "trusted.t", "t", 1, 0) == 0);
  REQUIRE(lsetxattr(f.c_str(), "system.posix_acl_access", kAclBytes.data(),
                    kAclBytes.size(), 0) == 0);
  // chown drops security.capability: only a restore that sets xattrs after
  // the owner keeps it.
  REQUIRE(lsetxattr(f.c_str(), "security.capability", kCapBytes.data(),
                    kCapBytes.size(), 0) == 0);
  REQUIRE(mkdirat(src, "dir", 0755) == 0);
  REQUIRE(lsetxattr(ProcPath(src, "dir").c_str(), "system.posix_acl_default",
                    kAclBytes.data(), kAclBytes.size(), 0) == 0);
  for (std::string name : {"f", "dir"}) {
    Node source = MustRead(src, name);
    REQUIRE(!source.xattrs.empty());
    Node restored = RoundTrip(source, d.dst.get());
    CHECK(Restorable(restored) == Restorable(source));
  }
  Node file = MustRead(d.dst.get(), "f");
  CHECK(file.mode == 0750);  // the ACL's mask is the group bits
  CHECK(file.xattrs.size() == 4);
}

TEST_CASE("fsmeta skips user xattrs on a symlink but restores trusted ones",
          "[unit][fsmeta]") {
  Dirs d;
  if (!testing::IsRoot() || !testing::XattrsSupported(d.src.get())) return;
  REQUIRE(symlinkat("target", d.src.get(), "link") == 0);
  REQUIRE(lsetxattr(ProcPath(d.src.get(), "link").c_str(), "trusted.t", "v", 1,
                    0) == 0);
  Node source = MustRead(d.src.get(), "link");
  REQUIRE(source.xattrs == std::vector<Xattr>{{"trusted.t", ToBytes("v")}});
  Node with_user = source;
  with_user.xattrs.push_back({"user.u", ToBytes("refused by linux")});
  REQUIRE(CreateSpecial(d.dst.get(), with_user).ok());
  Status status = ApplyMetadata(d.dst.get(), with_user);
  INFO(status.ToString());
  CHECK(status.ok());
  CHECK(MustRead(d.dst.get(), "link").xattrs == source.xattrs);
}

TEST_CASE(
    "fsmeta CreateSpecial replaces a file or empty directory, not a full one",
    "[unit][fsmeta]") {
  Dirs d;
  const int dst = d.dst.get();
  testing::TouchAt(dst, "file", "", 0600);
  REQUIRE(mkdirat(dst, "empty", 0755) == 0);
  REQUIRE(mkdirat(dst, "full", 0755) == 0);
  testing::TouchAt(dst, "full/keep", "", 0600);
  Node fifo;
  fifo.type = NodeType::kFifo;
  fifo.name = "file";
  REQUIRE(CreateSpecial(dst, fifo).ok());
  CHECK(MustRead(dst, "file").type == NodeType::kFifo);
  Node link;
  link.type = NodeType::kSymlink;
  link.link_target = "elsewhere";
  link.name = "empty";
  REQUIRE(CreateSpecial(dst, link).ok());
  CHECK(MustRead(dst, "empty").link_target == "elsewhere");
  link.name = "full";
  CHECK(!CreateSpecial(dst, link).ok());
  CHECK(MustRead(dst, "full").type == NodeType::kDir);
  CHECK(faccessat(dst, "full/keep", F_OK, 0) == 0);
}

TEST_CASE("fsmeta skips sockets and leaves files and directories to the caller",
          "[unit][fsmeta]") {
  Dirs d;
  Node socket;
  socket.type = NodeType::kSocket;
  socket.name = "sock";
  CHECK(CreateSpecial(d.dst.get(), socket).ok());
  CHECK(ApplyMetadata(d.dst.get(), socket).ok());
  CHECK(faccessat(d.dst.get(), "sock", F_OK, AT_SYMLINK_NOFOLLOW) != 0);
  Node file;
  file.name = "f";
  CHECK(CreateSpecial(d.dst.get(), file).code() == ErrorCode::kInvalidArgument);
  Node empty_link;
  empty_link.type = NodeType::kSymlink;
  empty_link.name = "l";
  CHECK(CreateSpecial(d.dst.get(), empty_link).code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("fsmeta refuses hostile names before touching anything",
          "[unit][fsmeta]") {
  Dirs d;
  const int dst = d.dst.get();
  REQUIRE(mkdirat(dst, "a", 0755) == 0);
  testing::TouchAt(dst, "a/b", "", 0644);
  struct stat before;
  REQUIRE(fstat(d.top.get(), &before) == 0);
  const std::vector<std::string> hostile = {"..",
                                            "a/b",
                                            "../dst",
                                            ".",
                                            "",
                                            std::string("x\0y", 3),
                                            std::string(256, 'x')};
  for (const std::string& name : hostile) {
    INFO(name);
    Node node;
    node.name = name;
    node.type = NodeType::kFifo;
    node.mode = 04777;
    node.mtime_ns = 42;
    CHECK(CreateSpecial(dst, node).code() == ErrorCode::kInvalidArgument);
    CHECK(ApplyMetadata(dst, node).code() == ErrorCode::kInvalidArgument);
  }
  UniqueFd inside(OpenDir(dst, "a"));
  Node b = MustRead(inside.get(), "b");
  CHECK(b.type == NodeType::kFile);  // not replaced by a FIFO
  CHECK(b.mode == 0644);
  struct stat after;  // ".." is the test's top directory: untouched
  REQUIRE(fstat(d.top.get(), &after) == 0);
  CHECK(after.st_mode == before.st_mode);
  CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
}

TEST_CASE("fsmeta ApplyMetadata does not follow a symlink planted for a file",
          "[unit][fsmeta]") {
  Dirs d;
  testing::TouchAt(d.top.get(), "victim", "", 0600);
  testing::SetMtime(d.top.get(), "victim", 1000, 0);
  Node before = MustRead(d.top.get(), "victim");
  REQUIRE(symlinkat((d.tmp.path() + "/victim").c_str(), d.dst.get(), "x") == 0);
  Node node;
  node.name = "x";
  node.type = NodeType::kFile;
  node.mode = 04777;
  node.uid = 12345;
  node.mtime_ns = 42;
  node.xattrs = {{"user.evil", ToBytes("1")}};
  CHECK(!ApplyMetadata(d.dst.get(), node).ok());
  CHECK(Restorable(MustRead(d.top.get(), "victim")) == Restorable(before));
}

TEST_CASE("fsmeta keeps applying after a failed step and names the entry",
          "[unit][fsmeta]") {
  Dirs d;
  testing::TouchAt(d.dst.get(), "named\nentry", "", 0600);
  Node node = MustRead(d.dst.get(), "named\nentry");
  node.xattrs = {{"bogus.namespace", ToBytes("v")}};  // no such namespace
  node.mode = 0751;
  node.mtime_ns = 1234567890123456789;
  Status status = ApplyMetadata(d.dst.get(), node);
  REQUIRE(!status.ok());
  CHECK_THAT(status.message(), Catch::Contains("\"named\\x0aentry\""));
  CHECK_THAT(status.message(), Catch::Contains("bogus.namespace"));
  Node after = MustRead(d.dst.get(), "named\nentry");
  CHECK(after.mode == 0751);
  CHECK(after.mtime_ns == 1234567890123456789);
}

// Restores as an unprivileged user: chown is skipped without an error.
TEST_CASE("fsmeta skips owners silently when not root", "[unit][fsmeta]") {
  if (!testing::IsRoot()) return;
  Dirs d;
  REQUIRE(fchownat(d.top.get(), "dst", 65534, 65534, 0) == 0);
  testing::TouchAt(d.dst.get(), "f", "", 0600);
  REQUIRE(fchownat(d.dst.get(), "f", 65534, 65534, 0) == 0);
  Node node = MustRead(d.dst.get(), "f");
  node.uid = 12345;
  node.gid = 12345;
  node.mode = 0640;
  REQUIRE(setegid(65534) == 0);
  REQUIRE(seteuid(65534) == 0);
  Status status = ApplyMetadata(d.dst.get(), node);
  REQUIRE(seteuid(0) == 0);
  REQUIRE(setegid(0) == 0);
  INFO(status.ToString());
  CHECK(status.ok());
  Node after = MustRead(d.dst.get(), "f");
  CHECK(after.uid == 65534);
  CHECK(after.mode == 0640);
  // As root, owners=false also leaves them alone.
  CHECK(ApplyMetadata(d.dst.get(), node, {.owners = false}).ok());
  CHECK(MustRead(d.dst.get(), "f").uid == 65534);
}

TEST_CASE("fsmeta creates and applies entries deeper than 4096 bytes of path",
          "[unit][fsmeta]") {
  Dirs d;
  const std::string component(200, 'p');
  int fd = dup(d.dst.get());
  for (int i = 0; i < 25; ++i) {  // 25 * 201 bytes: past PATH_MAX
    REQUIRE(mkdirat(fd, component.c_str(), 0755) == 0);
    int next = OpenDir(fd, component);
    close(fd);
    fd = next;
  }
  UniqueFd deep(fd);
  Node fifo;
  fifo.name = "fifo";
  fifo.type = NodeType::kFifo;
  fifo.mode = 0604;
  fifo.mtime_ns = 777;
  if (geteuid() == 0) fifo.xattrs = {{"trusted.deep", ToBytes("yes")}};
  REQUIRE(CreateSpecial(deep.get(), fifo).ok());
  Status status = ApplyMetadata(deep.get(), fifo);
  INFO(status.ToString());
  REQUIRE(status.ok());
  Node back = MustRead(deep.get(), "fifo");
  CHECK(back.mode == 0604);
  CHECK(back.mtime_ns == 777);
  CHECK(back.xattrs == fifo.xattrs);
  testing::RemoveAllAt(d.dst.get(), component);
}

}  // namespace
}  // namespace coffre::fsmeta
