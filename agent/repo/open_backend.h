// Opening the storage a --repo value names. Today: a local folder. The vault
// (https://HOST:PORT/TENANT/REPO) plugs in here without touching callers.
#pragma once

#include <memory>
#include <string>

#include "core/storage/backend.h"

namespace coffre::repo {

// For `init`: creates the layout (kAlreadyExists if the folder is not empty).
Result<std::unique_ptr<storage::Backend>> CreateBackend(const std::string& location);
// For every other command: kNotFound "… is not a coffre repository".
Result<std::unique_ptr<storage::Backend>> OpenBackend(const std::string& location);

}  // namespace coffre::repo
