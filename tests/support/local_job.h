// A coffre-agent job on a fresh local repository (passphrase "pw" in a
// file, one small source file), for the job runner and daemon tests.
#pragma once

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "agent/daemon/agent_config.h"
#include "agent/repo/open_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/temp_dir.h"

namespace coffre::testing {

inline daemon::JobConfig MakeLocalJob(const TempDir& dir, const std::string& name) {
  auto backend = repo::CreateBackend(dir.Sub("repo"));
  REQUIRE(backend);
  REQUIRE(repo::Repository::Init(std::move(*backend), AsBytes("pw"), FastInitOptions()));
  WriteFile(dir.Sub("passphrase"), "pw\n");
  std::filesystem::create_directories(dir.Sub("src"));
  WriteFile(dir.Sub("src/file.txt"), "business data");
  daemon::JobConfig job;
  job.name = name;
  job.repo = dir.Sub("repo");
  job.password_file = dir.Sub("passphrase");
  job.paths = {dir.Sub("src")};
  return job;
}

}  // namespace coffre::testing
