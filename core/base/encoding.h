// Little-endian fixed-width integers, LEB128 varints and length-prefixed byte
// strings: the building blocks of every Coffre format (see docs/format/).
//
// Writer appends to a Bytes it owns. Reader walks a view it does not own and
// reports every overrun as kCorruption, so a decoder built on it never reads
// past its input however hostile the bytes. Not thread-safe; one per thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/base/bytes.h"

namespace coffre {

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v);
  void U32(uint32_t v);
  void U64(uint64_t v);
  void Varint(uint64_t v);
  // Zig-zag signed varint, for values such as times before 1970.
  void SignedVarint(int64_t v);
  // resize + memcpy rather than vector::insert: g++ 12 at -O3 raises a false
  // -Wstringop-overflow on the inlined insert.
  void Raw(ByteView data) {
    if (data.empty()) return;
    size_t at = out_.size();
    out_.resize(at + data.size());
    std::memcpy(out_.data() + at, data.data(), data.size());
  }
  // Varint length then the bytes.
  void String(std::string_view s);
  void Blob(ByteView data);

  const Bytes& bytes() const { return out_; }
  Bytes Take() { return std::move(out_); }
  size_t size() const { return out_.size(); }

 private:
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}

  // Each returns kCorruption if the input ends first or a varint is malformed.
  Result<uint8_t> U8();
  Result<uint16_t> U16();
  Result<uint32_t> U32();
  Result<uint64_t> U64();
  Result<uint64_t> Varint();
  Result<int64_t> SignedVarint();
  Result<ByteView> Raw(size_t n);
  // A varint length then that many bytes; refuses lengths above `max_len`.
  Result<std::string> String(size_t max_len = 1 << 20);
  Result<Bytes> Blob(size_t max_len = 1 << 24);
  // A varint that must be <= max: guards counts before a loop allocates.
  Result<uint64_t> Count(uint64_t max);

  size_t remaining() const { return data_.size() - pos_; }
  bool done() const { return pos_ == data_.size(); }
  size_t position() const { return pos_; }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

// Little-endian loads and stores on raw memory, for fixed layouts.
inline void StoreU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void StoreU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t LoadU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | p[i];
  return v;
}
inline uint64_t LoadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace coffre
