#include "core/storage/vault_name.h"

#include <algorithm>
#include <string>

namespace coffre::storage {

Status ValidateVaultName(std::string_view what, std::string_view name) {
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  };
  bool ok = !name.empty() && name.size() <= 63 && std::all_of(name.begin(), name.end(), ok_char) &&
            name[0] != '_' && name[0] != '-';
  if (ok) return Status::Ok();
  std::string message(what);
  message.append(" name '").append(name).append(
      "' must be 1 to 63 characters of [a-z0-9_-], starting with a letter or a digit");
  return InvalidArgumentError(std::move(message));
}

}  // namespace coffre::storage
