#include "core/format/key_slot.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/base/encoding.h"
#include "core/crypto/random.h"

namespace coffre::format {
namespace {

constexpr char kMagic[4] = {'C', 'F', 'K', 'Y'};
constexpr uint8_t kKdfScrypt = 1;
constexpr size_t kSaltSize = 32;
constexpr size_t kKeysSize = 3 * sizeof(crypto::Key);
constexpr size_t kSealedKeysSize = kKeysSize + crypto::Aead::kTagSize;
constexpr size_t kMaxFieldLen = 4096;
// Bounds on what a slot may ask of the machine that opens it: a hostile slot
// must not make `coffre` allocate gigabytes or spin for an hour.
constexpr uint8_t kMaxLog2N = 22;
constexpr uint64_t kMaxR = 32;
constexpr uint64_t kMaxP = 16;

// Everything before the sealed keys, parsed; `clear_len` is the length of the
// associated data.
struct Parsed {
  crypto::ScryptParams params;
  ByteView salt;
  KeySlotInfo info;
  ByteView sealed;
  size_t clear_len = 0;
};

Result<Parsed> Parse(ByteView data) {
  Reader r(data);
  ASSIGN_OR_RETURN(ByteView magic, r.Raw(4));
  if (std::memcmp(magic.data(), kMagic, 4) != 0) {
    return Err(CorruptionError("not a key slot (bad magic)"));
  }
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version > kKeySlotVersion) {
    return Err(UnsupportedVersionError(
        "key slot version " + std::to_string(version) + " is newer than " +
        std::to_string(kKeySlotVersion) + ", the newest this build reads"));
  }
  if (version == 0) return Err(CorruptionError("key slot has version 0"));
  ASSIGN_OR_RETURN(uint8_t kdf, r.U8());
  if (kdf != kKdfScrypt) return Err(CorruptionError("key slot names an unknown KDF"));
  Parsed p;
  ASSIGN_OR_RETURN(uint8_t log2n, r.U8());
  ASSIGN_OR_RETURN(uint64_t scrypt_r, r.Varint());
  ASSIGN_OR_RETURN(uint64_t scrypt_p, r.Varint());
  if (log2n < 1 || log2n > kMaxLog2N || scrypt_r < 1 || scrypt_r > kMaxR ||
      scrypt_p < 1 || scrypt_p > kMaxP) {
    return Err(CorruptionError("key slot has out-of-range scrypt parameters"));
  }
  p.params.n = uint64_t{1} << log2n;
  p.params.r = static_cast<uint32_t>(scrypt_r);
  p.params.p = static_cast<uint32_t>(scrypt_p);
  ASSIGN_OR_RETURN(p.salt, r.Raw(kSaltSize));
  ASSIGN_OR_RETURN(p.info.created_ns, r.SignedVarint());
  ASSIGN_OR_RETURN(p.info.host, r.String(kMaxFieldLen));
  ASSIGN_OR_RETURN(p.info.user, r.String(kMaxFieldLen));
  ASSIGN_OR_RETURN(p.info.label, r.String(kMaxFieldLen));
  p.clear_len = r.position();
  if (r.remaining() != kSealedKeysSize) {
    return Err(CorruptionError("key slot has the wrong length"));
  }
  ASSIGN_OR_RETURN(p.sealed, r.Raw(kSealedKeysSize));
  return p;
}

uint8_t Log2(uint64_t n) {
  uint8_t log = 0;
  while ((uint64_t{1} << log) < n) ++log;
  return log;
}

}  // namespace

Bytes EncodeKeySlot(const MasterKeys& keys, ByteView passphrase,
                    const KeySlotInfo& info, const crypto::ScryptParams& params) {
  uint8_t log2n = Log2(params.n);
  std::array<uint8_t, kSaltSize> salt;
  crypto::RandomFill(salt.data(), salt.size());
  auto wrap_key = crypto::Scrypt(passphrase, salt, params);
  if (!wrap_key || (uint64_t{1} << log2n) != params.n || log2n > kMaxLog2N ||
      params.r > kMaxR || params.p > kMaxP) {
    // Parameters are the program's constants; a slot nobody could open must
    // never be written.
    std::fputs("coffre: EncodeKeySlot called with invalid scrypt parameters\n", stderr);
    std::abort();
  }
  Writer w;
  w.Raw(AsBytes(std::string_view(kMagic, 4)));
  w.U8(kKeySlotVersion);
  w.U8(kKdfScrypt);
  w.U8(log2n);
  w.Varint(params.r);
  w.Varint(params.p);
  w.Raw(salt);
  w.SignedVarint(info.created_ns);
  w.String(info.host);
  w.String(info.user);
  w.String(info.label);
  Bytes out = w.Take();

  uint8_t plain[kKeysSize];
  std::memcpy(plain, keys.data_key.data(), 32);
  std::memcpy(plain + 32, keys.id_key.data(), 32);
  std::memcpy(plain + 64, keys.chunker_key.data(), 32);
  Bytes aad(out.begin(), out.end());
  crypto::Aead(*wrap_key).SealAppend(0, plain, aad, &out);
  SecureWipe(plain, sizeof(plain));
  SecureWipe(wrap_key->data(), wrap_key->size());
  return out;
}

Result<KeySlotInfo> DecodeKeySlotInfo(ByteView data) {
  ASSIGN_OR_RETURN(Parsed p, Parse(data));
  return p.info;
}

Result<MasterKeys> OpenKeySlot(ByteView data, ByteView passphrase) {
  ASSIGN_OR_RETURN(Parsed p, Parse(data));
  auto wrap_key = crypto::Scrypt(passphrase, p.salt, p.params);
  if (!wrap_key) {
    return Err(CorruptionError("key slot scrypt parameters: " + wrap_key.error().message()));
  }
  auto plain = crypto::Aead(*wrap_key).Open(0, p.sealed, data.first(p.clear_len));
  SecureWipe(wrap_key->data(), wrap_key->size());
  // A wrong passphrase and an altered clear field fail the same tag; they
  // cannot be told apart, and a typo is far more likely.
  if (!plain) return Err(AuthFailedError("wrong passphrase"));
  MasterKeys keys;
  std::memcpy(keys.data_key.data(), plain->data(), 32);
  std::memcpy(keys.id_key.data(), plain->data() + 32, 32);
  std::memcpy(keys.chunker_key.data(), plain->data() + 64, 32);
  SecureWipe(plain->data(), plain->size());
  return keys;
}

}  // namespace coffre::format
