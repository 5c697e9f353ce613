// Tree: the encoded form of one directory of a snapshot. One blob per
// directory; entries sorted by name (bytewise), each with full metadata.
// Equal directories encode to equal bytes, hence to the same blob id, so an
// unchanged directory costs nothing in a later snapshot.
//
// Layout (docs/format/tree.md): magic "CFTR", version u8 = 1, varint count,
// then each node as a sequence of fields (see the spec). Decoding validates
// every name (no "", ".", "..", '/' or NUL): a tree from a hostile repository
// cannot name a path outside the restore target.
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/bytes.h"
#include "core/id/id.h"

namespace coffre::format {

enum class NodeType : uint8_t {
  kFile = 1,
  kDir = 2,
  kSymlink = 3,
  kFifo = 4,
  kCharDevice = 5,
  kBlockDevice = 6,
  kSocket = 7,
};

struct Xattr {
  std::string name;
  Bytes value;
  bool operator==(const Xattr&) const = default;
};

// A run of file bytes that holds data; the bytes between extents are holes.
struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const Extent&) const = default;
};

struct Node {
  std::string name;  // raw bytes of the name: any byte but '/' and NUL
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string user;   // name of uid at backup time, "" if none
  std::string group;  // name of gid at backup time, "" if none
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t size = 0;    // files: length in bytes
  uint64_t inode = 0;   // for the change cache
  uint64_t device = 0;  // st_dev, for the change cache and hard links
  uint64_t nlink = 1;
  // Hard links: nodes with equal non-zero link_group in one snapshot are
  // links of one inode; each still carries the content (free by dedup).
  uint64_t link_group = 0;
  std::string link_target;  // symlinks: target, raw bytes
  uint64_t rdev = 0;        // devices
  std::vector<Xattr> xattrs;  // sorted by name
  // Files with holes: the data extents, in order; the content below is the
  // concatenation of the extents. Empty for a file without holes.
  std::vector<Extent> sparse;
  std::vector<BlobId> content;  // files: chunk ids in order
  std::optional<BlobId> subtree;  // dirs: the tree blob of its entries

  bool operator==(const Node&) const = default;
};

struct Tree {
  std::vector<Node> nodes;  // sorted by name, names unique
};

// The node named `name` (nodes sorted by name, as decoded), or nullptr.
const Node* FindNode(const Tree& tree, std::string_view name);
Node* FindNode(Tree& tree, std::string_view name);

inline constexpr uint8_t kTreeVersion = 1;

// Sorts nodes by name; Encode requires unique names (kInvalidArgument).
Result<Bytes> EncodeTree(Tree tree);
// kCorruption on any malformed field, unsorted or duplicate names, or a name
// that is not a single path component; kUnsupportedVersion on version > 1.
Result<Tree> DecodeTree(ByteView data);

// True if `name` is safe as one path component: non-empty, not "." or "..",
// no '/' and no NUL, at most 255 bytes.
bool IsSafeName(std::string_view name);

}  // namespace coffre::format
