// Snapshot plaintext encoding (docs/format/snapshot.md). The repository seals
// these bytes as an object with magic "CFSN"; the plaintext repeats magic and
// version so DecodeSnapshot is self-contained and refuses a tree or index
// plaintext handed to it by mistake.
#include "core/format/snapshot.h"

#include <algorithm>
#include <array>
#include <string>

#include "core/base/encoding.h"

namespace coffre::format {

namespace {

constexpr char kMagic[] = "CFSN";

// Strings have no limit but the input itself: EncodeSnapshot cannot fail, so
// any limit here could make a committed snapshot unreadable.
Result<std::string> ReadString(Reader& r) { return r.String(r.remaining()); }

void WriteStrings(const std::vector<std::string>& list, Writer& w) {
  w.Varint(list.size());
  for (const std::string& s : list) w.String(s);
}

Result<std::vector<std::string>> ReadStrings(Reader& r) {
  // Each string takes at least its one-byte length, which bounds the count.
  ASSIGN_OR_RETURN(uint64_t count, r.Count(r.remaining()));
  std::vector<std::string> list;
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(std::string s, ReadString(r));
    list.push_back(std::move(s));
  }
  return list;
}

template <typename IdType>
Result<IdType> ReadId(Reader& r) {
  ASSIGN_OR_RETURN(ByteView raw, r.Raw(IdType::kSize));
  std::array<uint8_t, IdType::kSize> bytes;
  std::copy(raw.begin(), raw.end(), bytes.begin());
  return IdType(bytes);
}

}  // namespace

Bytes EncodeSnapshot(const Snapshot& s) {
  Writer w;
  w.Raw(AsBytes(std::string_view(kMagic, 4)));
  w.U8(kSnapshotVersion);
  w.SignedVarint(s.time_ns);
  w.String(s.host);
  w.String(s.user);
  WriteStrings(s.paths, w);
  WriteStrings(s.tags, w);
  w.Raw(s.root.view());
  w.U8(s.parent ? 1 : 0);
  if (s.parent) w.Raw(s.parent->view());
  w.Varint(s.stats.files);
  w.Varint(s.stats.dirs);
  w.Varint(s.stats.bytes);
  w.Varint(s.stats.new_bytes);
  w.Varint(s.stats.duration_ms);
  w.Varint(s.stats.errors);
  w.String(s.program_version);
  return w.Take();
}

Result<Snapshot> DecodeSnapshot(ByteView data) {
  Reader r(data);
  auto magic = r.Raw(4);
  if (!magic || AsChars(*magic) != std::string_view(kMagic, 4)) {
    return Err(CorruptionError("not a snapshot (bad magic)"));
  }
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version > kSnapshotVersion) {
    return Err(UnsupportedVersionError(
        "snapshot format version " + std::to_string(version) +
        " is newer than this coffre (reads up to " +
        std::to_string(kSnapshotVersion) + "); upgrade coffre"));
  }
  if (version == 0) return Err(CorruptionError("snapshot format version 0"));

  Snapshot s;
  ASSIGN_OR_RETURN(s.time_ns, r.SignedVarint());
  ASSIGN_OR_RETURN(s.host, ReadString(r));
  ASSIGN_OR_RETURN(s.user, ReadString(r));
  ASSIGN_OR_RETURN(s.paths, ReadStrings(r));
  ASSIGN_OR_RETURN(s.tags, ReadStrings(r));
  ASSIGN_OR_RETURN(s.root, ReadId<BlobId>(r));
  ASSIGN_OR_RETURN(uint8_t has_parent, r.U8());
  if (has_parent > 1) return Err(CorruptionError("snapshot: bad parent flag"));
  if (has_parent) {
    ASSIGN_OR_RETURN(s.parent, ReadId<ObjectId>(r));
  }
  ASSIGN_OR_RETURN(s.stats.files, r.Varint());
  ASSIGN_OR_RETURN(s.stats.dirs, r.Varint());
  ASSIGN_OR_RETURN(s.stats.bytes, r.Varint());
  ASSIGN_OR_RETURN(s.stats.new_bytes, r.Varint());
  ASSIGN_OR_RETURN(s.stats.duration_ms, r.Varint());
  ASSIGN_OR_RETURN(s.stats.errors, r.Varint());
  ASSIGN_OR_RETURN(s.program_version, ReadString(r));
  if (!r.done())
    return Err(CorruptionError("trailing bytes after the snapshot"));
  return s;
}

}  // namespace coffre::format
