// Backup paths: normalized, made absolute, reduced to the outermost ones,
// and the virtual folders leading to them.
#include "agent/backup/backup_paths.h"

#include <unistd.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace coffre::backup {
namespace {

namespace fs = std::filesystem;

TEST_CASE("OutermostPaths keeps the paths not inside another", "[paths]") {
  CHECK(OutermostPaths({"/a", "/a-b", "/a/b", "/a/b/c", "/ab"}) ==
        std::vector<std::string>{"/a", "/a-b", "/ab"});
  CHECK(OutermostPaths({"/", "/etc", "/srv/x"}) == std::vector<std::string>{"/"});
  CHECK(OutermostPaths({}).empty());
}

TEST_CASE("JoinPath puts a name in a folder", "[paths]") {
  CHECK(JoinPath("/", "etc") == "/etc");
  CHECK(JoinPath("/srv", "data") == "/srv/data");
}

TEST_CASE("NormalizePaths makes paths absolute, sorted and unique", "[paths]") {
  testing::TempDir dir;
  fs::create_directories(dir.Sub("x/y"));
  std::string real = fs::canonical(dir.path()).string();
  auto paths = NormalizePaths({dir.Sub("x/y/"), dir.Sub("x/./y"), dir.Sub("x")});
  REQUIRE(paths);
  CHECK(*paths == std::vector<std::string>{real + "/x", real + "/x/y"});
  CHECK_FALSE(NormalizePaths({dir.Sub("missing")}));
  CHECK_FALSE(NormalizePaths({""}));
}

TEST_CASE("BuildVirtualRoot marks the paths and the folders on the way", "[paths]") {
  VirtualDir root = BuildVirtualRoot({"/srv/a", "/srv/b/c"});
  REQUIRE(root.children.count("srv"));
  const VirtualDir& srv = root.children.at("srv");
  CHECK_FALSE(srv.is_target);
  CHECK(srv.children.at("a").is_target);
  CHECK_FALSE(srv.children.at("b").is_target);
  CHECK(srv.children.at("b").children.at("c").is_target);
  CHECK(BuildVirtualRoot({"/"}).is_target);
}

}  // namespace
}  // namespace coffre::backup
