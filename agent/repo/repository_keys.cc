// Repository's key-slot management: list, add, remove, change passphrase.
// Kept apart from repository.cc because it is the only part that rewrites
// keys/ and has its own safety rules (never remove the last or the used slot).
#include "agent/repo/repository.h"

namespace coffre::repo {

using storage::ObjectKind;

Result<std::vector<KeySlotListing>> Repository::ListKeys() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, storage::ListNames(*backend_, ObjectKind::kKey));
  std::vector<KeySlotListing> out;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(ObjectId id, ObjectId::FromHex(name));
    ASSIGN_OR_RETURN(Bytes slot, backend_->Load({ObjectKind::kKey, name}));
    auto info = format::DecodeKeySlotInfo(slot);
    if (!info) return Err(info.error().WithContext("key slot " + id.Short()));
    out.push_back({id, std::move(*info), id == key_in_use_});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.info.created_ns < b.info.created_ns;
  });
  return out;
}

Result<ObjectId> Repository::AddKey(ByteView passphrase, const std::string& label,
                                    const crypto::ScryptParams& kdf) {
  if (passphrase.empty()) return Err(InvalidArgumentError("the new passphrase is empty"));
  RETURN_IF_ERROR(ValidateKdf(kdf));
  format::KeySlotInfo info{NowNs(), HostName(), UserNameOfProcess(), label};
  Bytes slot = format::EncodeKeySlot(keys_, passphrase, info, kdf);
  ObjectId id(crypto::Sha256(slot));
  RETURN_IF_ERROR(backend_->Save({ObjectKind::kKey, id.Hex()}, slot));
  return id;
}

Status Repository::RemoveKey(const std::string& id_prefix) {
  ASSIGN_OR_RETURN(auto keys, ListKeys());
  const KeySlotListing* match = nullptr;
  for (const auto& k : keys) {
    if (k.id.Hex().compare(0, id_prefix.size(), id_prefix) != 0 || id_prefix.empty()) continue;
    if (match) return InvalidArgumentError("'" + id_prefix + "' matches several key slots");
    match = &k;
  }
  if (!match) return NotFoundError("no key slot matches '" + id_prefix + "'");
  if (match->in_use)
    return InvalidArgumentError("key slot " + match->id.Short() +
                                " opened the repository: remove it with another passphrase");
  if (keys.size() == 1) return InvalidArgumentError("refusing to remove the last key slot");
  return backend_->Remove({ObjectKind::kKey, match->id.Hex()});
}

Result<ObjectId> Repository::ChangePassphrase(ByteView passphrase) {
  ASSIGN_OR_RETURN(auto keys, ListKeys());
  std::string label = "passwd";
  for (const auto& k : keys)
    if (k.in_use) label = k.info.label;
  ASSIGN_OR_RETURN(ObjectId added, AddKey(passphrase, label));
  // The new slot is durable before the old one goes: a crash in between
  // leaves both passphrases working, never neither.
  RETURN_IF_ERROR(backend_->Remove({ObjectKind::kKey, key_in_use_.Hex()}));
  key_in_use_ = added;
  return added;
}

}  // namespace coffre::repo
