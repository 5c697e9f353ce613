#include "agent/util/secret_file.h"

#include <cerrno>
#include <fstream>
#include <iterator>

namespace coffre {

Result<std::string> ReadSecretFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(ErrnoStatus(errno, "cannot read " + what + " file " + path));
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string line = content.substr(0, content.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Err(AuthFailedError(what + " file " + path + " is empty"));
  return line;
}

}  // namespace coffre
