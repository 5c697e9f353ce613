// CommandSource: PATH=COMMAND parsing, the checks on where a command's file
// may go, and running a command: its output is cut exactly like a file of
// the same bytes, its stderr arrives as warnings, a non-zero exit is named.
#include "agent/backup/command_source.h"

#include <fcntl.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent/util/fd.h"
#include "core/chunker/fastcdc.h"
#include "tests/support/random_data.h"
#include "tests/support/temp_dir.h"

namespace coffre::backup {
namespace {

using testing::TempDir;

TEST_CASE("a from-command argument splits PATH=COMMAND at the first '='",
          "[unit][command_source]") {
  auto parsed = ParseCommandSource("/db.sql=pg_dump --set=x app");
  REQUIRE(parsed);
  CHECK(parsed->path == "/db.sql");
  CHECK(parsed->command == "pg_dump --set=x app");
  for (const char* bad : {"no-equals", "=cmd", "/path=", ""}) {
    INFO("argument '" << bad << "'");
    auto r = ParseCommandSource(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("a command's path must be absolute, normalized and apart from every other path",
          "[unit][command_source]") {
  const std::vector<std::string> paths = {"/etc", "/srv/data"};
  struct Case {
    std::vector<std::string> command_paths;
    bool ok;
  };
  const Case cases[] = {
      {{"/var/backups/app.sql"}, true},
      {{"/srv/app.sql"}, true},  // beside /srv/data, in a folder on its way
      {{"/etcetera"}, true},     // a prefix of the name is not a parent
      {{"/a.sql", "/b/c.sql"}, true},
      {{"relative.sql"}, false},
      {{"/"}, false},
      {{"/var/"}, false},
      {{"/var//app.sql"}, false},
      {{"/var/./app.sql"}, false},
      {{"/var/../etc/x"}, false},
      {{"/etc"}, false},              // equal to a backup path
      {{"/etc/dump.sql"}, false},     // inside one
      {{"/srv"}, false},              // above one
      {{"/x.sql", "/x.sql"}, false},  // twice
      {{"/d/x.sql", "/d/x.sql/y"}, false},
  };
  for (const Case& c : cases) {
    std::vector<CommandSource> commands;
    for (const std::string& p : c.command_paths) commands.push_back({p, "true"});
    INFO("first path " << c.command_paths[0]);
    Status s = CheckCommandSources(paths, commands);
    CHECK(s.ok() == c.ok);
    if (!s.ok()) CHECK(s.code() == ErrorCode::kInvalidArgument);
  }
  CHECK_FALSE(CheckCommandSources({"/"}, {{"/x", "true"}}).ok());  // all of / is backed up
}

struct Chunks {
  Bytes secret = testing::RandomBytes(1, 32);
  chunker::Chunker chunker{chunker::Params{4096, 16384, 65536}, chunker::DeriveGearTable(secret)};
  FileChunker file_chunker{&chunker};
  std::vector<std::string> chunks;
  std::function<Status(ByteView)> Emit() {
    return [this](ByteView c) {
      chunks.emplace_back(reinterpret_cast<const char*>(c.data()), c.size());
      return Status::Ok();
    };
  }
};

TEST_CASE("a command's output is cut into the same chunks as a file of the same bytes",
          "[unit][command_source]") {
  TempDir dir;
  const std::string path = dir.Sub("data");
  Bytes data = testing::RandomBytes(7, 1'234'567);
  testing::WriteFile(path, std::string(reinterpret_cast<const char*>(data.data()), data.size()));

  Chunks from_file;
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  REQUIRE(from_file.file_chunker.Run(fd.get(), data.size(), {}, nullptr, from_file.Emit()).ok());

  Chunks from_command;
  std::vector<std::string> warnings;
  auto size =
      RunCommandSource({"/data", "cat " + path}, from_command.file_chunker, nullptr,
                       from_command.Emit(), [&](const std::string& w) { warnings.push_back(w); });
  REQUIRE(size);
  CHECK(*size == data.size());
  CHECK(warnings.empty());
  CHECK(from_command.chunks.size() > 10);
  CHECK(from_command.chunks == from_file.chunks);
}

TEST_CASE("a command's stderr lines become warnings and its exit code is checked",
          "[unit][command_source]") {
  Chunks out;
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };

  auto ok = RunCommandSource({"/x", "printf 'abc'; echo one >&2; echo two >&2"}, out.file_chunker,
                             nullptr, out.Emit(), warn);
  REQUIRE(ok);
  CHECK(*ok == 3);
  CHECK(out.chunks == std::vector<std::string>{"abc"});
  CHECK(warnings == std::vector<std::string>{"printf: one", "printf: two"});

  warnings.clear();
  auto empty = RunCommandSource({"/x", "true"}, out.file_chunker, nullptr, out.Emit(), warn);
  REQUIRE(empty);
  CHECK(*empty == 0);

  auto failed = RunCommandSource({"/db.sql", "echo partial; echo broken >&2; exit 3"},
                                 out.file_chunker, nullptr, out.Emit(), warn);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code() == ErrorCode::kIo);
  CHECK_THAT(failed.error().message(), Catch::Contains("exited with code 3"));
  CHECK_THAT(failed.error().message(), Catch::Contains("echo partial; echo broken >&2; exit 3"));
  CHECK(warnings == std::vector<std::string>{"echo: broken"});

  auto killed = RunCommandSource({"/x", "kill -9 $$"}, out.file_chunker, nullptr, out.Emit(), warn);
  REQUIRE_FALSE(killed);
  CHECK_THAT(killed.error().message(), Catch::Contains("code 137"));

  auto missing = RunCommandSource({"/x", "coffre-no-such-command-here"}, out.file_chunker, nullptr,
                                  out.Emit(), warn);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message(), Catch::Contains("code 127"));
}

TEST_CASE("an error while storing a command's output stops the command", "[unit][command_source]") {
  Chunks out;
  auto refuse = [](ByteView) { return NoSpaceError("disk full"); };
  // Endless output: only stopping the command ends this.
  auto r = RunCommandSource({"/x", "yes"}, out.file_chunker, nullptr, refuse, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == ErrorCode::kNoSpace);
}

}  // namespace
}  // namespace coffre::backup
