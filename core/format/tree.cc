// Tree encoding (docs/format/tree.md). Encode and Decode share one validity
// check, so whatever EncodeTree accepts DecodeTree reads back, and nothing a
// hostile repository stores can reach the restorer unless it would also have
// been written by us.
#include "core/format/tree.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string>

#include "core/base/encoding.h"

namespace coffre::format {

namespace {

constexpr char kMagic[] = "CFTR";
constexpr size_t kMaxNameLen = 255;          // NAME_MAX
constexpr size_t kMaxOwnerNameLen = 4096;    // user and group names
constexpr size_t kMaxLinkTargetLen = 4096;   // PATH_MAX
constexpr size_t kMaxXattrNameLen = 255;     // XATTR_NAME_MAX
constexpr size_t kMaxXattrValueLen = 65536;  // XATTR_SIZE_MAX
constexpr uint32_t kMaxMode = 07777;

// A name as it may appear in an error message: hostile names can hold
// newlines or terminal escapes, so anything but printable ASCII is \xHH.
std::string Printable(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : name.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (name.size() > 64) out += "...";
  return out;
}

bool KnownType(NodeType type) {
  return type >= NodeType::kFile && type <= NodeType::kSocket;
}

// Empty if `node` is well-formed, else what is wrong with it.
std::string NodeProblem(const Node& node) {
  if (!IsSafeName(node.name)) return "unsafe name";
  if (!KnownType(node.type)) return "unknown node type";
  if (node.mode > kMaxMode) return "mode has bits outside 07777";
  if (node.user.size() > kMaxOwnerNameLen ||
      node.group.size() > kMaxOwnerNameLen) {
    return "user or group name too long";
  }
  if (node.link_target.size() > kMaxLinkTargetLen)
    return "symlink target too long";
  if (!node.link_target.empty() && node.type != NodeType::kSymlink) {
    return "link target on a node that is not a symlink";
  }
  for (size_t i = 0; i < node.xattrs.size(); ++i) {
    const Xattr& x = node.xattrs[i];
    if (x.name.empty() || x.name.size() > kMaxXattrNameLen)
      return "bad xattr name";
    if (x.value.size() > kMaxXattrValueLen) return "xattr value too long";
    if (i > 0 && !(node.xattrs[i - 1].name < x.name))
      return "xattrs not sorted or duplicate";
  }
  const bool is_file = node.type == NodeType::kFile;
  if (!is_file && (!node.content.empty() || !node.sparse.empty())) {
    return "content on a node that is not a file";
  }
  // A file that is all hole has the single marker extent {size, 0}.
  const bool all_hole = node.sparse.size() == 1 && node.sparse[0].length == 0 &&
                        node.sparse[0].offset == node.size && node.size > 0;
  uint64_t end = 0;  // data extents: non-empty, ordered, disjoint, in the file
  for (const Extent& e : all_hole ? std::vector<Extent>{} : node.sparse) {
    if (e.length == 0 || e.offset < end)
      return "sparse extents overlap or are empty";
    if (e.length > node.size || e.offset > node.size - e.length) {
      return "sparse extent past the end of the file";
    }
    end = e.offset + e.length;
  }
  const bool is_dir = node.type == NodeType::kDir;
  if (is_dir && !node.subtree) return "directory without a subtree";
  if (!is_dir && node.subtree)
    return "subtree on a node that is not a directory";
  return "";
}

void EncodeNode(const Node& n, Writer& w) {
  w.String(n.name);
  w.U8(static_cast<uint8_t>(n.type));
  w.Varint(n.mode);
  w.Varint(n.uid);
  w.Varint(n.gid);
  w.String(n.user);
  w.String(n.group);
  w.SignedVarint(n.mtime_ns);
  w.SignedVarint(n.ctime_ns);
  w.Varint(n.size);
  w.Varint(n.inode);
  w.Varint(n.device);
  w.Varint(n.nlink);
  w.Varint(n.link_group);
  w.String(n.link_target);
  w.Varint(n.rdev);
  w.Varint(n.xattrs.size());
  for (const Xattr& x : n.xattrs) {
    w.String(x.name);
    w.Blob(x.value);
  }
  w.Varint(n.sparse.size());
  for (const Extent& e : n.sparse) {
    w.Varint(e.offset);
    w.Varint(e.length);
  }
  w.Varint(n.content.size());
  for (const BlobId& id : n.content) w.Raw(id.view());
  w.U8(n.subtree ? 1 : 0);
  if (n.subtree) w.Raw(n.subtree->view());
}

Result<uint32_t> ReadU32Varint(Reader& r) {
  ASSIGN_OR_RETURN(uint64_t v, r.Varint());
  if (v > std::numeric_limits<uint32_t>::max()) {
    return Err(CorruptionError("value does not fit in 32 bits"));
  }
  return static_cast<uint32_t>(v);
}

Result<BlobId> ReadId(Reader& r) {
  ASSIGN_OR_RETURN(ByteView raw, r.Raw(BlobId::kSize));
  std::array<uint8_t, BlobId::kSize> bytes;
  std::copy(raw.begin(), raw.end(), bytes.begin());
  return BlobId(bytes);
}

// Reads the fields of one node; validity is checked by the caller.
Result<Node> DecodeNode(Reader& r) {
  Node n;
  ASSIGN_OR_RETURN(n.name, r.String(kMaxNameLen));
  ASSIGN_OR_RETURN(uint8_t type, r.U8());
  n.type = static_cast<NodeType>(type);
  if (!KnownType(n.type)) {
    return Err(CorruptionError("unknown node type " + std::to_string(type)));
  }
  ASSIGN_OR_RETURN(n.mode, ReadU32Varint(r));
  ASSIGN_OR_RETURN(n.uid, ReadU32Varint(r));
  ASSIGN_OR_RETURN(n.gid, ReadU32Varint(r));
  ASSIGN_OR_RETURN(n.user, r.String(kMaxOwnerNameLen));
  ASSIGN_OR_RETURN(n.group, r.String(kMaxOwnerNameLen));
  ASSIGN_OR_RETURN(n.mtime_ns, r.SignedVarint());
  ASSIGN_OR_RETURN(n.ctime_ns, r.SignedVarint());
  ASSIGN_OR_RETURN(n.size, r.Varint());
  ASSIGN_OR_RETURN(n.inode, r.Varint());
  ASSIGN_OR_RETURN(n.device, r.Varint());
  ASSIGN_OR_RETURN(n.nlink, r.Varint());
  ASSIGN_OR_RETURN(n.link_group, r.Varint());
  ASSIGN_OR_RETURN(n.link_target, r.String(kMaxLinkTargetLen));
  ASSIGN_OR_RETURN(n.rdev, r.Varint());
  // Every count is bounded by the bytes left, so a forged count cannot make
  // the loops below run (or allocate) beyond the input.
  ASSIGN_OR_RETURN(uint64_t xattrs, r.Count(r.remaining() / 2));
  for (uint64_t i = 0; i < xattrs; ++i) {
    Xattr x;
    ASSIGN_OR_RETURN(x.name, r.String(kMaxXattrNameLen));
    ASSIGN_OR_RETURN(x.value, r.Blob(kMaxXattrValueLen));
    n.xattrs.push_back(std::move(x));
  }
  ASSIGN_OR_RETURN(uint64_t extents, r.Count(r.remaining() / 2));
  for (uint64_t i = 0; i < extents; ++i) {
    Extent e;
    ASSIGN_OR_RETURN(e.offset, r.Varint());
    ASSIGN_OR_RETURN(e.length, r.Varint());
    n.sparse.push_back(e);
  }
  ASSIGN_OR_RETURN(uint64_t chunks, r.Count(r.remaining() / BlobId::kSize));
  n.content.reserve(chunks);
  for (uint64_t i = 0; i < chunks; ++i) {
    ASSIGN_OR_RETURN(BlobId id, ReadId(r));
    n.content.push_back(id);
  }
  ASSIGN_OR_RETURN(uint8_t has_subtree, r.U8());
  if (has_subtree > 1) return Err(CorruptionError("bad subtree flag"));
  if (has_subtree) {
    ASSIGN_OR_RETURN(n.subtree, ReadId(r));
  }
  return n;
}

}  // namespace

bool IsSafeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLen) return false;
  if (name == "." || name == "..") return false;
  return name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

const Node* FindNode(const Tree& tree, std::string_view name) {
  auto it = std::lower_bound(tree.nodes.begin(), tree.nodes.end(), name,
                             [](const Node& n, std::string_view v) { return n.name < v; });
  return it != tree.nodes.end() && it->name == name ? &*it : nullptr;
}

Node* FindNode(Tree& tree, std::string_view name) {
  return const_cast<Node*>(FindNode(static_cast<const Tree&>(tree), name));
}

Result<Bytes> EncodeTree(Tree tree) {
  auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  std::sort(tree.nodes.begin(), tree.nodes.end(), by_name);
  Writer w;
  w.Raw(AsBytes(std::string_view(kMagic, 4)));
  w.U8(kTreeVersion);
  w.Varint(tree.nodes.size());
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    Node& node = tree.nodes[i];
    std::sort(node.xattrs.begin(), node.xattrs.end(), by_name);
    if (i > 0 && tree.nodes[i - 1].name == node.name) {
      return Err(InvalidArgumentError("tree has two entries named \"" +
                                      Printable(node.name) + "\""));
    }
    std::string problem = NodeProblem(node);
    if (!problem.empty()) {
      return Err(InvalidArgumentError("tree entry \"" + Printable(node.name) +
                                      "\": " + problem));
    }
    EncodeNode(node, w);
  }
  return w.Take();
}

Result<Tree> DecodeTree(ByteView data) {
  Reader r(data);
  auto magic = r.Raw(4);
  if (!magic || AsChars(*magic) != std::string_view(kMagic, 4)) {
    return Err(CorruptionError("not a tree (bad magic)"));
  }
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version > kTreeVersion) {
    return Err(UnsupportedVersionError(
        "tree format version " + std::to_string(version) +
        " is newer than this coffre (reads up to " +
        std::to_string(kTreeVersion) + "); upgrade coffre"));
  }
  if (version == 0) return Err(CorruptionError("tree format version 0"));
  ASSIGN_OR_RETURN(uint64_t count, r.Count(r.remaining()));
  Tree tree;
  for (uint64_t i = 0; i < count; ++i) {
    auto node = DecodeNode(r);
    if (!node) {
      return Err(node.error().WithContext("tree entry " + std::to_string(i)));
    }
    std::string problem = NodeProblem(*node);
    if (problem.empty() && i > 0 && !(tree.nodes.back().name < node->name)) {
      problem = "entries not sorted or duplicate";
    }
    if (!problem.empty()) {
      return Err(CorruptionError("tree entry \"" + Printable(node->name) +
                                 "\": " + problem));
    }
    tree.nodes.push_back(std::move(*node));
  }
  if (!r.done()) return Err(CorruptionError("trailing bytes after the tree"));
  return tree;
}

}  // namespace coffre::format
