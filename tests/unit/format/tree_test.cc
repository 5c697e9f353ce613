#include "core/format/tree.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

namespace coffre::format {
namespace {

BlobId IdOf(uint8_t fill) {
  std::array<uint8_t, 32> b;
  b.fill(fill);
  return BlobId(b);
}

Node File(std::string name) {
  Node n;
  n.name = std::move(name);
  n.type = NodeType::kFile;
  n.mode = 0644;
  return n;
}

Node Dir(std::string name) {
  Node n;
  n.name = std::move(name);
  n.type = NodeType::kDir;
  n.mode = 0755;
  n.subtree = IdOf(0x22);
  return n;
}

Bytes Encode(Tree tree) {
  auto bytes = EncodeTree(std::move(tree));
  REQUIRE(bytes);
  return *bytes;
}

ErrorCode DecodeCode(const Bytes& data) {
  auto tree = DecodeTree(data);
  return tree ? ErrorCode::kOk : tree.error().code();
}

// A short name as encoded (length prefix, bytes), then the node's type byte
// if `type` is given.
std::string Encoded(const std::string& name, int type = -1) {
  std::string out = static_cast<char>(name.size()) + name;
  if (type >= 0) out.push_back(static_cast<char>(type));
  return out;
}

// Replaces the one occurrence of `from` in `data` by `to` (same length, or
// not: the caller knows what the layout then means).
Bytes Patch(Bytes data, std::string_view from, std::string_view to) {
  auto it = std::search(data.begin(), data.end(), from.begin(), from.end());
  REQUIRE(it != data.end());
  REQUIRE(std::search(it + 1, data.end(), from.begin(), from.end()) ==
          data.end());
  size_t pos = static_cast<size_t>(it - data.begin());
  data.erase(data.begin() + pos, data.begin() + pos + from.size());
  data.insert(data.begin() + pos, to.begin(), to.end());
  return data;
}

TEST_CASE("tree round-trips every node type with full metadata",
          "[unit][format][tree]") {
  Tree tree;
  Node file = File("file");
  file.mode = 04755;
  file.uid = 1000;
  file.gid = 4294967295u;
  file.user = "alice";
  file.group = "staff";
  file.mtime_ns = -1234567890123;  // before 1970
  file.ctime_ns = 1700000000123456789;
  file.size = 10 << 20;
  file.inode = 1ULL << 40;
  file.device = 0x803;
  file.nlink = 2;
  file.link_group = 7;
  file.xattrs = {{"security.selinux", ToBytes("system_u:object_r")},
                 {"system.posix_acl_access", Bytes{2, 0, 0, 0, 0, 0xff}},
                 {"user.empty", Bytes{}}};
  file.sparse = {{0, 4096}, {1 << 20, 8192}, {(10 << 20) - 1, 1}};
  file.content = {IdOf(1), IdOf(2), IdOf(1)};
  tree.nodes.push_back(file);
  tree.nodes.push_back(Dir("dir"));
  Node link = File("link");
  link.type = NodeType::kSymlink;
  link.mode = 0777;
  link.link_target = "../../some\ntarget\xff";
  tree.nodes.push_back(link);
  Node fifo = File("fifo");
  fifo.type = NodeType::kFifo;
  tree.nodes.push_back(fifo);
  Node chr = File("null");
  chr.type = NodeType::kCharDevice;
  chr.rdev = (1 << 8) | 3;
  tree.nodes.push_back(chr);
  Node blk = File("sda");
  blk.type = NodeType::kBlockDevice;
  blk.rdev = 8 << 8;
  tree.nodes.push_back(blk);
  Node sock = File("sock");
  sock.type = NodeType::kSocket;
  tree.nodes.push_back(sock);
  tree.nodes.push_back(File("\xff\xfe"));
  tree.nodes.push_back(File("line\nbreak"));
  tree.nodes.push_back(File(std::string(255, 'n')));

  auto decoded = DecodeTree(Encode(tree));
  REQUIRE(decoded);
  std::sort(tree.nodes.begin(), tree.nodes.end(),
            [](const Node& a, const Node& b) { return a.name < b.name; });
  CHECK(decoded->nodes == tree.nodes);
  // Bytewise order: 0xff sorts after every ASCII name.
  CHECK(decoded->nodes.back().name == "\xff\xfe");
}

TEST_CASE("tree encoding of a small tree matches the pinned bytes",
          "[unit][format][tree]") {
  Tree tree;
  Node file = File("a");
  file.uid = 1000;
  file.gid = 100;
  file.user = "u";
  file.group = "g";
  file.mtime_ns = 1;
  file.ctime_ns = -1;
  file.size = 300;
  file.inode = 5;
  file.device = 6;
  file.nlink = 1;
  file.content = {IdOf(0x11)};
  tree.nodes.push_back(Dir("d"));
  tree.nodes.push_back(file);
  // Worked out by hand from docs/format/tree.md, then checked by the code.
  // clang-format off
  const std::string kHex = std::string() +
      "4346545201" +      // "CFTR", version 1
      "02" +              // 2 nodes
      "016101" +          // name "a", file
      "a403e80764" +      // mode 0644, uid 1000, gid 100
      "01750167" +        // user "u", group "g"
      "0201" +            // mtime 1, ctime -1 (zig-zag)
      "ac0205060100" +    // size 300, inode 5, device 6, nlink 1, link group
      "00000000" +        // target, rdev, xattrs, extents
      "01" + std::string(64, '1') +  // one content id
      "00" +              // no subtree
      "016402" +          // name "d", directory
      "ed0300000000" +    // mode 0755, uid, gid, user, group
      "0000000000" +      // times, size, inode, device
      "0100" +            // nlink 1, link group
      "0000000000" +      // target, rdev, xattrs, extents, content
      "01" + std::string(64, '2');   // subtree
  // clang-format on
  CHECK(HexEncode(Encode(tree)) == kHex);
}

TEST_CASE("tree encoding sorts entries and refuses duplicates",
          "[unit][format][tree]") {
  Tree tree;
  tree.nodes = {File("b"), File("a"), File("c")};
  auto decoded = DecodeTree(Encode(tree));
  REQUIRE(decoded);
  REQUIRE(decoded->nodes.size() == 3);
  CHECK(decoded->nodes[0].name == "a");
  CHECK(decoded->nodes[2].name == "c");
  tree.nodes.push_back(File("b"));
  CHECK(EncodeTree(tree).error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("tree names must be single safe path components",
          "[unit][format][tree]") {
  for (std::string bad : {std::string(".."), std::string("."), std::string(""),
                          std::string("a/b"), std::string("/"),
                          std::string("a\0b", 3), std::string(256, 'x')}) {
    INFO("name " << bad);
    CHECK_FALSE(IsSafeName(bad));
    Tree tree;
    tree.nodes = {File(bad)};
    CHECK(EncodeTree(tree).error().code() == ErrorCode::kInvalidArgument);
  }
  CHECK(IsSafeName("..."));
  CHECK(IsSafeName(".hidden"));
  CHECK(IsSafeName(std::string(255, 'x')));
}

TEST_CASE("tree decoding rejects hostile names", "[unit][format][tree]") {
  Tree tree;
  tree.nodes = {File("xx"), File("y_z")};
  Bytes good = Encode(tree);
  REQUIRE(DecodeCode(good) == ErrorCode::kOk);
  CHECK(DecodeCode(Patch(good, "\x02xx", "\x02..")) == ErrorCode::kCorruption);
  CHECK(DecodeCode(Patch(good, "\x02xx", "\x01.")) == ErrorCode::kCorruption);
  CHECK(DecodeCode(Patch(good, "\x02xx", std::string_view("\x00", 1))) ==
        ErrorCode::kCorruption);
  CHECK(DecodeCode(Patch(good, "y_z", "y/z")) == ErrorCode::kCorruption);
  CHECK(DecodeCode(Patch(good, "y_z", std::string_view("y\0z", 3))) ==
        ErrorCode::kCorruption);
}

TEST_CASE("tree decoding rejects unsorted and duplicate names",
          "[unit][format][tree]") {
  Tree tree;
  tree.nodes = {File("b"), File("c")};
  Bytes good = Encode(tree);
  CHECK(DecodeCode(Patch(good, Encoded("c"), Encoded("a"))) ==
        ErrorCode::kCorruption);
  CHECK(DecodeCode(Patch(good, Encoded("c"), Encoded("b"))) ==
        ErrorCode::kCorruption);
}

TEST_CASE("tree decoding rejects malformed node fields",
          "[unit][format][tree]") {
  Tree files;
  files.nodes = {File("f")};
  Bytes file = Encode(files);
  // The type byte follows the name "f".
  CHECK(DecodeCode(Patch(file, Encoded("f", 1), Encoded("f", 9))) ==
        ErrorCode::kCorruption);
  CHECK(DecodeCode(Patch(file, Encoded("f", 1), Encoded("f", 0))) ==
        ErrorCode::kCorruption);
  // A directory without a subtree, and a file with one.
  CHECK(DecodeCode(Patch(file, Encoded("f", 1), Encoded("f", 2))) ==
        ErrorCode::kCorruption);
  Tree dirs;
  dirs.nodes = {Dir("d")};
  Bytes dir = Encode(dirs);
  CHECK(DecodeCode(Patch(dir, Encoded("d", 2), Encoded("d", 1))) ==
        ErrorCode::kCorruption);
  // The subtree flag is 0 or 1.
  Bytes flag = dir;
  flag[flag.size() - 33] = 2;
  CHECK(DecodeCode(flag) == ErrorCode::kCorruption);
}

TEST_CASE("tree decoding rejects bad framing", "[unit][format][tree]") {
  Tree tree;
  tree.nodes = {File("a"), Dir("d")};
  Bytes good = Encode(tree);
  Bytes trailing = good;
  trailing.push_back(0);
  CHECK(DecodeCode(trailing) == ErrorCode::kCorruption);
  Bytes magic = good;
  magic[0] = 'X';
  CHECK(DecodeCode(magic) == ErrorCode::kCorruption);
  Bytes huge_count = good;
  huge_count[5] = 0x7f;  // 127 nodes in a few dozen bytes
  CHECK(DecodeCode(huge_count) == ErrorCode::kCorruption);
  Bytes newer = good;
  newer[4] = 2;
  auto r = DecodeTree(newer);
  REQUIRE(!r);
  CHECK(r.error().code() == ErrorCode::kUnsupportedVersion);
  // Every truncation is refused, none reads out of bounds (run under ASan).
  for (size_t n = 0; n < good.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK(DecodeCode(Bytes(good.begin(), good.begin() + n)) ==
          ErrorCode::kCorruption);
  }
}

TEST_CASE("tree rejects inconsistent content, sparse and xattr lists",
          "[unit][format][tree]") {
  auto encode_code = [](Node n) {
    Tree t;
    t.nodes = {std::move(n)};
    auto r = EncodeTree(t);
    return r ? ErrorCode::kOk : r.error().code();
  };
  Node file = File("f");
  file.size = 100;
  file.sparse = {{10, 20}, {20, 5}};  // overlap
  CHECK(encode_code(file) == ErrorCode::kInvalidArgument);
  file.sparse = {{90, 11}};  // past the end
  CHECK(encode_code(file) == ErrorCode::kInvalidArgument);
  file.sparse = {{0, 0}};
  CHECK(encode_code(file) == ErrorCode::kInvalidArgument);
  file.sparse = {{0, 10}, {90, 10}};
  CHECK(encode_code(file) == ErrorCode::kOk);
  Node dir = Dir("d");
  dir.content = {IdOf(3)};
  CHECK(encode_code(dir) == ErrorCode::kInvalidArgument);
  Node mode = File("m");
  mode.mode = 0100644;  // st_mode with the file-type bits
  CHECK(encode_code(mode) == ErrorCode::kInvalidArgument);
  Node xattrs = File("x");
  xattrs.xattrs = {{"user.b", {}}, {"user.a", {}}};  // sorted by Encode
  CHECK(encode_code(xattrs) == ErrorCode::kOk);
  xattrs.xattrs.push_back({"user.a", {1}});
  CHECK(encode_code(xattrs) == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace coffre::format
