// Typed 32-byte identifiers. Each kind of id is its own type, named for what it
// hashes, so a BlobId cannot be passed where a PackId is expected.
//
//   BlobId     HMAC-SHA-256 of a blob's plaintext under the repository's id key
//              (chunks and trees alike), so the vault cannot test for files.
//   PackId     SHA-256 of a pack's stored bytes: the vault can verify it.
//   ObjectId   SHA-256 of any other stored object (index, snapshot, key slot).
// Thread-safety: values.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "core/base/bytes.h"

namespace coffre {

template <typename Tag>
class Id {
 public:
  static constexpr size_t kSize = 32;

  Id() { bytes_.fill(0); }
  explicit Id(const std::array<uint8_t, kSize>& bytes) : bytes_(bytes) {}

  // Exactly 32 bytes, else kInvalidArgument.
  static Result<Id> FromBytes(ByteView data) {
    if (data.size() != kSize) return Err(InvalidArgumentError("id must be 32 bytes"));
    Id id;
    std::memcpy(id.bytes_.data(), data.data(), kSize);
    return id;
  }
  // Exactly 64 hex digits, else kInvalidArgument.
  static Result<Id> FromHex(std::string_view hex) {
    if (hex.size() != 2 * kSize) return Err(InvalidArgumentError("id must be 64 hex digits"));
    ASSIGN_OR_RETURN(Bytes raw, HexDecode(hex));
    return FromBytes(raw);
  }

  std::string Hex() const { return HexEncode(bytes_); }
  // The first 8 hex digits, as shown to people.
  std::string Short() const { return Hex().substr(0, 8); }
  const std::array<uint8_t, kSize>& bytes() const { return bytes_; }
  ByteView view() const { return ByteView(bytes_.data(), kSize); }
  bool IsZero() const {
    for (uint8_t b : bytes_) if (b) return false;
    return true;
  }

  auto operator<=>(const Id&) const = default;
  bool operator==(const Id&) const = default;

 private:
  std::array<uint8_t, kSize> bytes_;
};

struct BlobIdTag {};
struct PackIdTag {};
struct ObjectIdTag {};
using BlobId = Id<BlobIdTag>;
using PackId = Id<PackIdTag>;
using ObjectId = Id<ObjectIdTag>;

// Hashing for unordered containers: ids are uniformly random already.
struct IdHash {
  template <typename Tag>
  size_t operator()(const Id<Tag>& id) const {
    size_t h;
    std::memcpy(&h, id.bytes().data(), sizeof(h));
    return h;
  }
};

}  // namespace coffre
