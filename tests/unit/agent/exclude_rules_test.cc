// ExcludeRules / ExcludeFilter: the glob rules over a table of patterns and
// paths, the last-match-wins rule of "!" patterns, malformed patterns,
// exclude files, and the markers that exclude a directory.
#include "agent/backup/exclude_rules.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "agent/util/fd.h"
#include "tests/support/temp_dir.h"

namespace coffre::backup {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

std::shared_ptr<const ExcludeFilter> FilterOf(std::vector<std::string> patterns) {
  ExcludeRules rules;
  rules.patterns = std::move(patterns);
  auto filter = ExcludeFilter::Compile(rules);
  REQUIRE(filter);
  return *filter;
}

struct Case {
  const char* pattern;
  const char* path;
  bool excluded;
};

TEST_CASE("exclude patterns match paths by the glob rules", "[unit][exclude_rules]") {
  const Case cases[] = {
      // Without '/': the name, in any folder; '*' matches a leading dot too.
      {"*.tmp", "/a/b/x.tmp", true},
      {"*.tmp", "/x.tmp", true},
      {"*.tmp", "/a/b/x.tmpx", false},
      {"*.tmp", "/a/x.tmp/y", false},
      {"*", "/a/.hidden", true},
      {"node_modules", "/p/node_modules", true},
      {"node_modules", "/p/node_modules2", false},
      {"node_modules", "/node_modules/p", false},
      {"?.c", "/src/a.c", true},
      {"?.c", "/src/ab.c", false},
      {"?.c", "/src/.c", false},
      {"a*b*c", "/axxbyyc", true},
      {"a*b*c", "/axxbyy", false},
      {"*a*", "/bab", true},
      {"**.o", "/x/y.o", true},  // "**" inside a name is '*'
      {"*a*a*a*a*b", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
      // Sets.
      {"[abc].o", "/b.o", true},
      {"[abc].o", "/d.o", false},
      {"[!a-c]x", "/dx", true},
      {"[!a-c]x", "/bx", false},
      {"[^a-c]x", "/dx", true},
      {"[]]", "/]", true},
      {"[!]]", "/]", false},
      {"[a-]", "/-", true},
      {"[\\]]", "/]", true},
      {"[0-9][0-9]", "/42", true},
      {"[0-9][0-9]", "/4a", false},
      // Escapes.
      {"\\*", "/*", true},
      {"\\*", "/a", false},
      {"a\\[b", "/x/a[b", true},
      {"\\!keep", "/!keep", true},
      // Starting with '/': the whole path.
      {"/home/*/.cache", "/home/bob/.cache", true},
      {"/home/*/.cache", "/home/bob/x/.cache", false},
      {"/home/*/.cache", "/srv/home/bob/.cache", false},
      {"/home", "/home", true},
      {"/home", "/home/bob", false},  // below it: never reached, not matched
      {"/tmp/", "/tmp", true},
      {"/var//log/.", "/var/log", true},
      // With '/' but not first: the last components.
      {"cache/*.bin", "/a/cache/x.bin", true},
      {"cache/*.bin", "/cache/x.bin", true},
      {"cache/*.bin", "/a/cache/sub/x.bin", false},
      {"cache/*.bin", "/a/xcache/x.bin", false},
      // "**": any number of whole components, none included.
      {"/srv/**/*.log", "/srv/a.log", true},
      {"/srv/**/*.log", "/srv/x/y/a.log", true},
      {"/srv/**/*.log", "/var/srv/a.log", false},
      {"/a/**/z", "/a/z", true},
      {"/a/**/z", "/a/b/c/z", true},
      {"/a/**/z", "/a/b/c/zz", false},
      {"/a/**", "/a/b/c", true},
      {"/a/**", "/b/a", false},
      {"**/build", "/a/b/build", true},
      {"x/**/y", "/p/x/q/r/y", true},
      {"x/**/y", "/p/x/q/r/y/s", false},
      {"/**/x/*/y", "/a/x/b/x/c/y", true},
  };
  for (const Case& c : cases) {
    INFO("pattern '" << c.pattern << "', path " << c.path);
    CHECK(FilterOf({c.pattern})->Excluded(c.path) == c.excluded);
  }
}

TEST_CASE("the last exclude pattern that matches decides, so '!' re-includes",
          "[unit][exclude_rules]") {
  auto keep_one = FilterOf({"*.log", "!keep.log"});
  CHECK(keep_one->Excluded("/var/a.log"));
  CHECK_FALSE(keep_one->Excluded("/var/keep.log"));
  CHECK_FALSE(keep_one->Excluded("/var/a.txt"));

  auto overridden = FilterOf({"!keep.log", "*.log"});  // the re-include comes first: no effect
  CHECK(overridden->Excluded("/var/keep.log"));

  auto contents = FilterOf({"/data/*", "!/data/keep"});
  CHECK(contents->Excluded("/data/other"));
  CHECK_FALSE(contents->Excluded("/data/keep"));
  CHECK_FALSE(contents->Excluded("/data"));
}

TEST_CASE("malformed exclude rules are refused with the pattern named", "[unit][exclude_rules]") {
  for (const char* bad : {"", "!", "/", "//", ".", "a[b", "[", "x/[!", "a\\", "[a\\"}) {
    INFO("pattern '" << bad << "'");
    ExcludeRules rules;
    rules.patterns = {"*.ok", bad};
    auto filter = ExcludeFilter::Compile(rules);
    REQUIRE_FALSE(filter);
    CHECK(filter.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(filter.error().message(), Catch::Contains("'" + std::string(bad) + "'"));
  }
  for (const char* bad : {"", "a/b", "..", "."}) {
    ExcludeRules rules;
    rules.if_present = {bad};
    CHECK_FALSE(ExcludeFilter::Compile(rules));
  }
}

TEST_CASE("an exclude file gives one trimmed pattern a line, without blanks and comments",
          "[unit][exclude_rules]") {
  TempDir dir;
  WriteFile(dir.Sub("list"), "  *.tmp  \n\n# a comment\n/home/*/.cache\r\n\t\n  #indented\nlast");
  auto patterns = LoadExcludeFile(dir.Sub("list"));
  REQUIRE(patterns);
  CHECK(*patterns == std::vector<std::string>{"*.tmp", "/home/*/.cache", "last"});

  auto missing = LoadExcludeFile(dir.Sub("nothing-here"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == ErrorCode::kNotFound);
  CHECK_THAT(missing.error().message(), Catch::Contains(dir.Sub("nothing-here")));
}

TEST_CASE("a marker file or a valid CACHEDIR.TAG excludes its directory", "[unit][exclude_rules]") {
  TempDir dir;
  const std::string signature = "Signature: 8a477f597d28d172789f06886806bc55";
  ExcludeRules rules;
  rules.if_present = {".nobackup"};
  rules.caches = true;
  auto filter = ExcludeFilter::Compile(rules);
  REQUIRE(filter);

  auto marker_of = [&](const std::string& sub, const std::vector<std::string>& names) {
    UniqueFd fd(open(dir.Sub(sub).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd.valid());
    return (*filter)->MarkerIn(fd.get(), names);
  };
  fs::create_directories(dir.Sub("plain"));
  CHECK_FALSE(marker_of("plain", {"a", "b"}));
  CHECK(marker_of("plain", {".nobackup", "a"}) == std::optional<std::string>(".nobackup"));

  fs::create_directories(dir.Sub("cache"));
  WriteFile(dir.Sub("cache/CACHEDIR.TAG"), signature + "\n# made by a test\n");
  CHECK(marker_of("cache", {"CACHEDIR.TAG", "x"}) == std::optional<std::string>("CACHEDIR.TAG"));

  fs::create_directories(dir.Sub("wrong"));
  WriteFile(dir.Sub("wrong/CACHEDIR.TAG"), "Signature: 0000000000000000000000000000000\n");
  CHECK_FALSE(marker_of("wrong", {"CACHEDIR.TAG"}));

  fs::create_directories(dir.Sub("short"));
  WriteFile(dir.Sub("short/CACHEDIR.TAG"), signature.substr(0, 20));
  CHECK_FALSE(marker_of("short", {"CACHEDIR.TAG"}));

  fs::create_directories(dir.Sub("folder/CACHEDIR.TAG"));  // not a regular file
  CHECK_FALSE(marker_of("folder", {"CACHEDIR.TAG"}));

  ExcludeRules no_caches;
  no_caches.if_present = {".nobackup"};
  auto without = ExcludeFilter::Compile(no_caches);
  REQUIRE(without);
  UniqueFd fd(open(dir.Sub("cache").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  CHECK_FALSE((*without)->MarkerIn(fd.get(), {"CACHEDIR.TAG", "x"}));
}

}  // namespace
}  // namespace coffre::backup
