// The names of tenants and repositories on a vault: the agent builds URLs
// from them and the vault builds folders from them, so both check the one
// rule (docs/vault-api.md, "Names"): 1 to 63 characters of [a-z0-9_-],
// starting with a letter or a digit. Nothing else can reach a path.
// Thread-safety: free function.
#pragma once

#include <string_view>

#include "core/base/status.h"

namespace coffre::storage {

// kInvalidArgument naming `what` ("tenant", "repository") otherwise.
Status ValidateVaultName(std::string_view what, std::string_view name);

}  // namespace coffre::storage
