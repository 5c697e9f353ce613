// TempDir: a fresh folder under $TMPDIR (or /tmp) removed with its content
// when the object dies. Tests create their files under path().
#pragma once

#include <string>

namespace coffre::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// rm -r of `name` relative to an open directory, for trees whose paths
// exceed PATH_MAX (TempDir's cleanup works on paths and would leave them).
void RemoveAllAt(int dirfd, const std::string& name);

// Writes `content` to `path` (creating or truncating); aborts the test on error.
void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

}  // namespace coffre::testing
