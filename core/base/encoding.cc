#include "core/base/encoding.h"

namespace coffre {

void Writer::U16(uint16_t v) {
  U8(static_cast<uint8_t>(v));
  U8(static_cast<uint8_t>(v >> 8));
}
void Writer::U32(uint32_t v) {
  uint8_t b[4];
  StoreU32(b, v);
  Raw(b);
}
void Writer::U64(uint64_t v) {
  uint8_t b[8];
  StoreU64(b, v);
  Raw(b);
}
void Writer::Varint(uint64_t v) {
  while (v >= 0x80) {
    U8(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  U8(static_cast<uint8_t>(v));
}
void Writer::SignedVarint(int64_t v) {
  Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
void Writer::String(std::string_view s) {
  Varint(s.size());
  Raw(AsBytes(s));
}
void Writer::Blob(ByteView data) {
  Varint(data.size());
  Raw(data);
}

static Status Truncated() { return CorruptionError("record is truncated"); }

Result<uint8_t> Reader::U8() {
  if (remaining() < 1) return Err(Truncated());
  return data_[pos_++];
}
Result<uint16_t> Reader::U16() {
  if (remaining() < 2) return Err(Truncated());
  uint16_t v = static_cast<uint16_t>(data_[pos_] | data_[pos_ + 1] << 8);
  pos_ += 2;
  return v;
}
Result<uint32_t> Reader::U32() {
  if (remaining() < 4) return Err(Truncated());
  uint32_t v = LoadU32(data_.data() + pos_);
  pos_ += 4;
  return v;
}
Result<uint64_t> Reader::U64() {
  if (remaining() < 8) return Err(Truncated());
  uint64_t v = LoadU64(data_.data() + pos_);
  pos_ += 8;
  return v;
}
Result<uint64_t> Reader::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (remaining() < 1) return Err(Truncated());
    uint8_t b = data_[pos_++];
    if (shift == 63 && b > 1) break;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  return Err(CorruptionError("malformed varint"));
}
Result<int64_t> Reader::SignedVarint() {
  ASSIGN_OR_RETURN(uint64_t u, Varint());
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}
Result<ByteView> Reader::Raw(size_t n) {
  if (remaining() < n) return Err(Truncated());
  ByteView v = data_.subspan(pos_, n);
  pos_ += n;
  return v;
}
Result<std::string> Reader::String(size_t max_len) {
  ASSIGN_OR_RETURN(uint64_t n, Count(max_len));
  ASSIGN_OR_RETURN(ByteView v, Raw(n));
  return std::string(AsChars(v));
}
Result<Bytes> Reader::Blob(size_t max_len) {
  ASSIGN_OR_RETURN(uint64_t n, Count(max_len));
  ASSIGN_OR_RETURN(ByteView v, Raw(n));
  return Bytes(v.begin(), v.end());
}
Result<uint64_t> Reader::Count(uint64_t max) {
  ASSIGN_OR_RETURN(uint64_t n, Varint());
  if (n > max) return Err(CorruptionError("length field out of range"));
  return n;
}

}  // namespace coffre
