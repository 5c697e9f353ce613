#include "agent/util/secret_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace coffre {

Result<std::string> ReadSecretFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  // kAuthFailed, whatever the reason (missing, unreadable): without its
  // secret the run cannot authenticate, and that is exit 5, not "not a
  // repository" (6) as a plain kNotFound would say.
  if (!in) {
    const int err = errno;
    return Err(
        AuthFailedError("cannot read " + what + " file " + path + ": " + std::strerror(err)));
  }
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string line = content.substr(0, content.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Err(AuthFailedError(what + " file " + path + " is empty"));
  return line;
}

}  // namespace coffre
