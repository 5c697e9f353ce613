// `coffre-vault held list|restore|purge`: what the provider does with the
// objects a tenant's deletion hold keeps (vault/store/held_store.h,
// docs/vault.md, "Deletion hold"). Each returns the exit code (0, 1, 2).
#pragma once

#include <string>

namespace coffre::vault::cli {

// The held areas of one tenant ("" : every tenant), with their sizes and
// the day each may be removed for good.
int HeldList(const std::string& data, const std::string& tenant);
// Puts back into repository `repo` what was deleted from it on `since`
// ("YYYY-MM-DD" or "YYYYMMDD"; "" : every day) or later.
int HeldRestore(const std::string& data, const std::string& tenant, const std::string& repo,
                const std::string& since);
// Removes for good, for every tenant, what its hold no longer keeps.
int HeldPurge(const std::string& data);

}  // namespace coffre::vault::cli
