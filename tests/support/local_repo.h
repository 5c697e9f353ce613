// LocalRepo: a fresh repository in a TempDir (passphrase "pw", the cheap
// test settings) opened as often as a test needs, as separate processes
// would; and the helpers the damage tests share: listing a repository's
// files and flipping one byte of one.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "agent/repo/repository.h"
#include "core/storage/local_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/temp_dir.h"

namespace coffre::testing {

class LocalRepo {
 public:
  TempDir dir;
  const std::string repo_path = dir.Sub("repo");

  LocalRepo() {
    auto backend = storage::LocalBackend::Create(repo_path);
    REQUIRE(backend);
    REQUIRE(repo::Repository::Init(std::move(*backend), AsBytes("pw"), FastInitOptions()));
  }

  std::unique_ptr<repo::Repository> Open() {
    auto backend = storage::LocalBackend::Open(repo_path);
    REQUIRE(backend);
    auto r = repo::Repository::Open(std::move(*backend), AsBytes("pw"));
    REQUIRE(r);
    return std::move(*r);
  }
};

// The regular files below `dir`, sorted.
inline std::vector<std::filesystem::path> FilesUnder(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Flips the byte at `at` of `path` (by default the middle one).
inline void FlipByte(const std::filesystem::path& path, std::streamoff at = -1) {
  if (at < 0) at = static_cast<std::streamoff>(std::filesystem::file_size(path) / 2);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekg(at);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(at);
  f.write(&c, 1);
  REQUIRE(f.good());
}

}  // namespace coffre::testing
