// The archiver with exclude rules and command sources, in process on a
// LocalBackend: what each rule leaves out (and that the backup paths and
// unmatched entries stay), that excluded folders are not read ahead, that a
// mount point is kept empty with one_file_system, and that a command's
// output becomes a file that restores bit for bit, or fails the backup.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "agent/backup/archiver.h"
#include "agent/backup/backup_paths.h"
#include "agent/restore/restorer.h"
#include "core/storage/local_backend.h"
#include "tests/support/fast_init.h"
#include "tests/support/temp_dir.h"

namespace coffre::backup {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr const char* kCacheTag = "Signature: 8a477f597d28d172789f06886806bc55\n";

struct Fixture {
  TempDir dir;
  std::string repo_path = dir.Sub("repo");
  std::string src = dir.Sub("src");
  std::unique_ptr<repo::Repository> repo;
  std::vector<std::string> warnings;

  Fixture() {
    fs::create_directories(src);
    auto backend = storage::LocalBackend::Create(repo_path);
    REQUIRE(backend);
    auto r = repo::Repository::Init(std::move(*backend), AsBytes("pw"), testing::FastInitOptions());
    REQUIRE(r);
    repo = std::move(*r);
  }

  // Files (with content "data of NAME") and folders (a trailing '/') below src.
  void Make(const std::vector<std::string>& entries) {
    for (const std::string& e : entries) {
      if (e.back() == '/') {
        fs::create_directories(src + "/" + e);
      } else {
        fs::create_directories(fs::path(src + "/" + e).parent_path());
        WriteFile(src + "/" + e, "data of " + e);
      }
    }
  }

  BackupOptions Options() {
    BackupOptions o;
    o.paths = {src};
    o.host = "test-host";
    o.warn = [this](const std::string& w) { warnings.push_back(w); };
    return o;
  }
};

// Every path below `tree` ("a", "a/b" ...), folders with a trailing '/'.
void Collect(repo::Repository& r, const BlobId& tree, const std::string& prefix,
             std::set<std::string>* out) {
  auto decoded = r.LoadTree(tree);
  REQUIRE(decoded);
  for (const format::Node& node : decoded->nodes) {
    const std::string path = prefix + node.name;
    if (node.type == format::NodeType::kDir) {
      out->insert(path + "/");
      REQUIRE(node.subtree);
      Collect(r, *node.subtree, path + "/", out);
    } else {
      out->insert(path);
    }
  }
}

// The node of absolute `path` in a snapshot.
format::Node NodeAt(repo::Repository& r, const format::Snapshot& snap, const std::string& path) {
  BlobId tree = snap.root;
  format::Node found;
  auto parts = SplitPath(path);
  for (size_t i = 0; i < parts.size(); ++i) {
    auto decoded = r.LoadTree(tree);
    REQUIRE(decoded);
    const format::Node* node = format::FindNode(*decoded, parts[i]);
    INFO("looking for " << path);
    REQUIRE(node);
    found = *node;
    if (i + 1 < parts.size()) tree = *found.subtree;
  }
  return found;
}

// What a snapshot holds below `dir`.
std::set<std::string> EntriesBelow(repo::Repository& r, const format::Snapshot& snap,
                                   const std::string& dir) {
  std::set<std::string> out;
  format::Node node = NodeAt(r, snap, dir);
  REQUIRE(node.subtree);
  Collect(r, *node.subtree, "", &out);
  return out;
}

TEST_CASE("exclude patterns leave out matching files and whole folders", "[unit][archiver]") {
  Fixture f;
  f.Make({"a/x.tmp", "a/y.txt", "a/node_modules/lib/z.js", "home/bob/.cache/big", "home/bob/notes",
          "home/eve/.cache/c", "keep.tmp.txt", "logs/a.log", "logs/keep.log"});
  BackupOptions o = f.Options();
  o.excludes.patterns = {"*.tmp", "node_modules", f.src + "/home/*/.cache", "*.log", "!keep.log"};
  auto result = RunBackup(*f.repo, o);
  REQUIRE(result);
  CHECK(f.warnings.empty());
  CHECK(EntriesBelow(*f.repo, result->snapshot, f.src) ==
        std::set<std::string>{"a/", "a/y.txt", "home/", "home/bob/", "home/bob/notes", "home/eve/",
                              "keep.tmp.txt", "logs/", "logs/keep.log"});
  CHECK(result->snapshot.stats.files == 4);
  CHECK(result->snapshot.stats.errors == 0);
}

TEST_CASE("exclude rules that match nothing leave the snapshot's trees unchanged",
          "[unit][archiver]") {
  Fixture f;
  f.Make({"a/x.bin", "b/c/y.txt", "z"});
  auto plain = RunBackup(*f.repo, f.Options());
  REQUIRE(plain);
  BackupOptions o = f.Options();
  o.excludes.patterns = {"*.nothing", "/no/such/place"};
  o.excludes.if_present = {".nobackup"};
  o.excludes.caches = true;
  o.excludes.one_file_system = true;
  o.force = true;  // every file read again, no help from the parent
  auto filtered = RunBackup(*f.repo, o);
  REQUIRE(filtered);
  CHECK(NodeAt(*f.repo, plain->snapshot, f.src).subtree ==
        NodeAt(*f.repo, filtered->snapshot, f.src).subtree);
}

TEST_CASE("a folder holding an exclude-if-present marker is left out whole", "[unit][archiver]") {
  Fixture f;
  f.Make(
      {"private/.nobackup", "private/secret", "private/sub/more", "public/file", "other/.keepme"});
  BackupOptions o = f.Options();
  o.excludes.if_present = {".nobackup", ".skip"};
  auto result = RunBackup(*f.repo, o);
  REQUIRE(result);
  CHECK(EntriesBelow(*f.repo, result->snapshot, f.src) ==
        std::set<std::string>{"other/", "other/.keepme", "public/", "public/file"});
}

TEST_CASE("exclude caches leaves out folders with a valid CACHEDIR.TAG only", "[unit][archiver]") {
  Fixture f;
  f.Make({"cache/blob", "fake/blob", "data/file"});
  WriteFile(f.src + "/cache/CACHEDIR.TAG", kCacheTag);
  WriteFile(f.src + "/fake/CACHEDIR.TAG", "not a signature\n");
  BackupOptions o = f.Options();
  o.excludes.caches = true;
  auto result = RunBackup(*f.repo, o);
  REQUIRE(result);
  CHECK(EntriesBelow(*f.repo, result->snapshot, f.src) ==
        std::set<std::string>{"data/", "data/file", "fake/", "fake/CACHEDIR.TAG", "fake/blob"});
}

TEST_CASE("the backup paths themselves are kept whatever the rules say", "[unit][archiver]") {
  Fixture f;
  f.Make({"named.tmp", "dir/.nobackup", "dir/inside.tmp", "dir/inside.txt"});
  BackupOptions o = f.Options();
  o.paths = {f.src + "/named.tmp", f.src + "/dir"};
  o.excludes.patterns = {"*.tmp"};
  o.excludes.if_present = {".nobackup"};
  auto result = RunBackup(*f.repo, o);
  REQUIRE(result);
  CHECK(EntriesBelow(*f.repo, result->snapshot, f.src) ==
        std::set<std::string>{"dir/", "dir/.nobackup", "dir/inside.txt", "named.tmp"});
}

TEST_CASE("the listing prefetcher neither lists excluded entries nor reads excluded folders",
          "[unit][archiver]") {
  Fixture f;
  f.Make({"skip/deep/file", "marked/.nobackup", "marked/sub/file", "kept/sub/file", "x.tmp"});
  ExcludeRules rules;
  rules.patterns = {"skip"};
  rules.if_present = {".nobackup"};
  auto listings = StartListing({f.src}, rules);
  REQUIRE(listings);
  auto take = [&](const std::string& path) {
    struct stat st {};
    REQUIRE(lstat(path.c_str(), &st) == 0);
    return listings->Take(path, st.st_dev, st.st_ino);
  };
  auto root = take(f.src);
  REQUIRE(root);
  std::vector<std::string> names;
  for (const auto& node : root->nodes) names.push_back(node.name);
  CHECK(names == std::vector<std::string>{"kept", "marked", "x.tmp"});
  auto marked = take(f.src + "/marked");
  REQUIRE(marked);
  CHECK(marked->excluded_by == ".nobackup");
  CHECK(marked->nodes.empty());
  // Never queued: a Take finds nothing read ahead.
  CHECK_FALSE(take(f.src + "/skip"));
  CHECK_FALSE(take(f.src + "/skip/deep"));
  CHECK_FALSE(take(f.src + "/marked/sub"));
  REQUIRE(take(f.src + "/kept"));  // once taken, its sub-folders are known
  CHECK(take(f.src + "/kept/sub"));
}

// A tmpfs mounted on `path` for the life of the object (root only).
class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& path) : path_(path) {
    mounted_ = mount("tmpfs", path.c_str(), "tmpfs", 0, "size=1m,mode=0750") == 0;
  }
  ~TmpfsMount() {
    if (mounted_ && umount(path_.c_str()) != 0) (void)umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST_CASE("with one_file_system a mount point is kept as an empty folder", "[unit][archiver]") {
  Fixture f;
  f.Make({"local/file", "mnt/"});
  TmpfsMount mnt(f.src + "/mnt");
  if (!mnt.mounted()) {
    WARN("cannot mount a tmpfs here (not root?): one_file_system not tested");
    return;
  }
  WriteFile(f.src + "/mnt/on-tmpfs", "elsewhere");
  fs::create_directories(f.src + "/mnt/sub");

  auto all = RunBackup(*f.repo, f.Options());
  REQUIRE(all);
  CHECK(EntriesBelow(*f.repo, all->snapshot, f.src).count("mnt/on-tmpfs") == 1);

  BackupOptions o = f.Options();
  o.excludes.one_file_system = true;
  auto result = RunBackup(*f.repo, o);
  REQUIRE(result);
  CHECK(EntriesBelow(*f.repo, result->snapshot, f.src) ==
        std::set<std::string>{"local/", "local/file", "mnt/"});
  format::Node mount_point = NodeAt(*f.repo, result->snapshot, f.src + "/mnt");
  CHECK(mount_point.mode == 0750);  // the mounted root's own metadata

  // A mount point that is a backup path itself is walked.
  o.paths = {f.src, f.src + "/mnt"};
  auto named = RunBackup(*f.repo, o);
  REQUIRE(named);
  CHECK(EntriesBelow(*f.repo, named->snapshot, f.src) ==
        std::set<std::string>{"local/", "local/file", "mnt/", "mnt/on-tmpfs", "mnt/sub/"});
}

TEST_CASE("a command's 20 MB output is stored as a file that restores bit for bit",
          "[unit][archiver]") {
  Fixture f;
  const std::string expected = f.dir.Sub("expected");
  BackupOptions o = f.Options();
  o.paths.clear();  // the command is the only source
  o.commands = {
      {"/var/backups/coffre-test/dump.bin", "head -c 20000000 /dev/urandom | tee " + expected}};
  const int64_t before = repo::NowNs();
  auto result = RunBackup(*f.repo, o);
  REQUIRE(result);
  CHECK(f.warnings.empty());
  CHECK(result->snapshot.paths == std::vector<std::string>{"/var/backups/coffre-test/dump.bin"});
  CHECK(result->snapshot.stats.files == 1);
  CHECK(result->snapshot.stats.bytes == 20000000);

  format::Node node = NodeAt(*f.repo, result->snapshot, "/var/backups/coffre-test/dump.bin");
  CHECK(node.type == format::NodeType::kFile);
  CHECK(node.mode == 0600);
  CHECK(node.size == 20000000);
  CHECK(node.uid == geteuid());
  CHECK(node.gid == getegid());
  CHECK(node.mtime_ns >= before);
  CHECK(node.content.size() > 100);  // chunked as it came, small test chunks
  // /var exists here and keeps its metadata; the rest is made up.
  CHECK(NodeAt(*f.repo, result->snapshot, "/var/backups/coffre-test").mode == 0755);

  TempDir out;
  restore::RestoreOptions ro;
  ro.target = out.path();
  auto restored = restore::RunRestore(*f.repo, result->snapshot, ro);
  REQUIRE(restored);
  CHECK(restored->damaged == 0);
  const std::string got = out.path() + "/var/backups/coffre-test/dump.bin";
  struct stat st {};
  REQUIRE(stat(got.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_size == 20000000);
  CHECK(ReadFile(got) == ReadFile(expected));
}

TEST_CASE("a failing command fails the backup and no snapshot is saved", "[unit][archiver]") {
  Fixture f;
  f.Make({"file"});
  BackupOptions o = f.Options();
  o.commands = {{"/dumps/app.sql", "echo partial; exit 3"}};
  auto result = RunBackup(*f.repo, o);
  REQUIRE_FALSE(result);
  CHECK(result.error().code() == ErrorCode::kIo);
  CHECK_THAT(result.error().message(), Catch::Contains("echo partial; exit 3"));
  CHECK_THAT(result.error().message(), Catch::Contains("exited with code 3"));
  auto snapshots = f.repo->ListSnapshots();
  REQUIRE(snapshots);
  CHECK(snapshots->empty());
  // What was stored is indexed, as for a cancelled backup.
  CHECK_FALSE(fs::is_empty(f.repo_path + "/index"));
}

TEST_CASE("command output beside backed-up paths joins the snapshot's paths, stderr warns",
          "[unit][archiver]") {
  Fixture f;
  f.Make({"file"});
  BackupOptions o = f.Options();
  o.commands = {{"/coffre-no-such-dir/db.sql", "echo 'CREATE TABLE t;'; echo 'notice: ok' >&2"}};
  auto result = RunBackup(*f.repo, o);
  REQUIRE(result);
  std::vector<std::string> want_paths = {"/coffre-no-such-dir/db.sql", f.src};
  std::sort(want_paths.begin(), want_paths.end());
  CHECK(result->snapshot.paths == want_paths);
  CHECK(f.warnings == std::vector<std::string>{"echo: notice: ok"});
  CHECK(result->snapshot.stats.errors == 0);  // stderr is not an unreadable entry
  CHECK(NodeAt(*f.repo, result->snapshot, "/coffre-no-such-dir/db.sql").size == 16);
  CHECK(NodeAt(*f.repo, result->snapshot, "/coffre-no-such-dir").mode == 0755);
  CHECK(EntriesBelow(*f.repo, result->snapshot, f.src) == std::set<std::string>{"file"});
}

TEST_CASE("a command path inside a backup path is refused before anything runs",
          "[unit][archiver]") {
  Fixture f;
  BackupOptions o = f.Options();
  o.commands = {{f.src + "/dump", "touch " + f.dir.Sub("ran")}};
  auto result = RunBackup(*f.repo, o);
  REQUIRE_FALSE(result);
  CHECK(result.error().code() == ErrorCode::kInvalidArgument);
  CHECK_FALSE(fs::exists(f.dir.Sub("ran")));
}

TEST_CASE("cancelling a backup stops a command that is still running", "[unit][archiver]") {
  Fixture f;
  std::atomic<bool> cancel{false};
  BackupOptions o = f.Options();
  o.paths.clear();
  o.cancel = &cancel;
  o.warn = [&](const std::string&) { cancel = true; };  // the command says it is under way
  o.commands = {{"/dump", "echo started >&2; exec sleep 120"}};
  const auto started = std::chrono::steady_clock::now();
  auto result = RunBackup(*f.repo, o);
  REQUIRE_FALSE(result);
  CHECK(result.error().code() == ErrorCode::kCancelled);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(60));
}

}  // namespace
}  // namespace coffre::backup
