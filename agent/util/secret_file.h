// Secrets kept in files (passphrase, vault token): the first line, without
// its line end, for coffre's --password-file/--token-file and for the
// agent's password_file/token_file alike.
// Thread-safety: free function.
#pragma once

#include <string>

#include "core/base/status.h"

namespace coffre {

// The first line of `path` without "\n" or "\r\n". kAuthFailed naming the
// file and the reason if it cannot be read or that line is empty.
// `what` names the secret in messages ("password", "token").
Result<std::string> ReadSecretFile(const std::string& path, const std::string& what);

}  // namespace coffre
