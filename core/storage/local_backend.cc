#include "core/storage/local_backend.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>

#include "core/crypto/random.h"
#include "core/storage/posix_file.h"

namespace coffre::storage {

namespace {

using posix::Fd;

// Objects are ciphertext, but who backs up what is still nobody else's
// business: folders and files are private to the repository's owner.
constexpr int kDirMode = 0700;
constexpr int kFileMode = 0600;
// A file in tmp/ is its writer's while the writer holds an flock on it; one
// nobody locks is a dead writer's once it is this old (the age covers the
// instant between creating the file and locking it). Where flock is not
// supported, only the hour tells.
constexpr time_t kUnlockedTmpSeconds = 10;
constexpr time_t kStaleTmpSeconds = 60 * 60;
constexpr const char* kTmp = "tmp";
// Folders whose presence makes a folder a repository before its config is
// written (Create, then the repository layer saves the config).
constexpr const char* kRequiredDirs[] = {"keys", "data", "index", "snapshots"};
constexpr const char* kAllDirs[] = {"keys",      "data",  "index",
                                    "snapshots", "locks", kTmp};

std::string Normalize(const std::string& root) {
  std::error_code ec;
  std::filesystem::path path = std::filesystem::absolute(root, ec);
  if (ec) path = root;
  std::string out = path.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status NotARepository(const std::string& root) {
  return NotFoundError(root + " is not a coffre repository");
}

// A missing object is routine: say so plainly instead of quoting open(2).
Status ObjectErrno(int err, const ObjectName& object, const std::string& what) {
  if (err == ENOENT) return NotFoundError(object.ToString() + " does not exist");
  return ErrnoStatus(err, what);
}

// Moves `from` to `to` only if `to` does not exist, atomically.
Status RenameNoReplace(const std::string& from, const std::string& to,
                       const ObjectName& object) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                  RENAME_NOREPLACE) == 0) {
    return Status::Ok();
  }
  int err = errno;
  if (err == EINVAL || err == ENOSYS || err == ENOTSUP) {
    // Filesystems without RENAME_NOREPLACE (some network and FUSE ones):
    // link(2) also refuses an existing target atomically.
    err = ::link(from.c_str(), to.c_str()) == 0 ? 0 : errno;
    if (err == 0) {
      ::unlink(from.c_str());  // a leftover is removed by a later Open
      return Status::Ok();
    }
  }
  if (err == EEXIST) return AlreadyExistsError(object.ToString() + " already exists");
  return ErrnoStatus(err, "rename " + from + " to " + to);
}

// True if no process holds a lock on the file at `path` (its writer is
// gone); nullopt where the filesystem cannot say.
std::optional<bool> Unlocked(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return std::nullopt;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return true;
  if (errno == EWOULDBLOCK) return false;
  return std::nullopt;
}

// Removes what dead writers left in tmp/: files no process locks, and any
// file older than an hour where locks say nothing. Best effort: a failure
// only leaves garbage for the next Open.
void RemoveStaleTemps(const std::string& tmp_dir) {
  auto names = posix::ReadDirNames(tmp_dir);
  if (!names) return;
  const time_t now = ::time(nullptr);
  for (const std::string& name : *names) {
    std::string path = tmp_dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_mtime >= now - kUnlockedTmpSeconds) continue;
    const std::optional<bool> unlocked = Unlocked(path);
    if (unlocked ? *unlocked : st.st_mtime < now - kStaleTmpSeconds) ::unlink(path.c_str());
  }
}

Result<bool> IsEmptyDir(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, posix::ReadDirNames(path));
  return names.empty();
}

// Lists the objects in `dir` whose names start with `prefix`.
Status ListFolder(const std::string& dir, const std::string& prefix,
                  const std::function<Status(const ObjectInfo&)>& fn) {
  auto names = posix::ReadDirNames(dir);
  if (!names) {
    // A folder removed or never created holds no objects.
    if (names.error().code() == ErrorCode::kNotFound) return Status::Ok();
    return names.error().WithContext("list " + dir);
  }
  for (const std::string& name : *names) {
    // Skip what Save never writes (editor backups, a stray README, a pack
    // in the wrong data/XX folder that Load could not find anyway).
    if (!ValidateObjectName(name).ok() || name.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    struct stat st;
    const std::string path = dir + "/" + name;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // removed while listing
      return ErrnoStatus(errno, "stat " + path);
    }
    if (!S_ISREG(st.st_mode)) continue;
    RETURN_IF_ERROR(fn(ObjectInfo{name, static_cast<uint64_t>(st.st_size)}));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<LocalBackend>> LocalBackend::Create(
    const std::string& root_arg) {
  const std::string root = Normalize(root_arg);
  struct stat st;
  if (::stat(root.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Err(AlreadyExistsError(root + " exists and is not a folder"));
    }
    ASSIGN_OR_RETURN(bool empty, IsEmptyDir(root));
    if (!empty) return Err(AlreadyExistsError(root + " exists and is not empty"));
  } else if (errno == ENOENT) {
    std::error_code ec;
    std::filesystem::create_directories(posix::ParentOf(root), ec);
    if (ec) return Err(ErrnoStatus(ec.value(), "create " + posix::ParentOf(root)));
    ASSIGN_OR_RETURN(bool created, posix::MakeDir(root, kDirMode));
    (void)created;
  } else {
    return Err(ErrnoStatus(errno, "stat " + root));
  }
  for (const char* dir : kAllDirs) {
    // Plain mkdir, not MakeDir: if another Create got here first, the folder
    // is not ours to share.
    std::string path = root + "/" + dir;
    if (::mkdir(path.c_str(), kDirMode) != 0) {
      return Err(ErrnoStatus(errno, "mkdir " + path));
    }
  }
  RETURN_IF_ERROR(posix::SyncDir(root));
  RETURN_IF_ERROR(posix::SyncDir(posix::ParentOf(root)));
  return std::unique_ptr<LocalBackend>(new LocalBackend(root));
}

Result<std::unique_ptr<LocalBackend>> LocalBackend::Open(
    const std::string& root_arg) {
  const std::string root = Normalize(root_arg);
  if (!IsDir(root)) return Err(NotARepository(root));
  bool has_layout = true;
  for (const char* dir : kRequiredDirs) {
    has_layout = has_layout && IsDir(root + "/" + dir);
  }
  if (!has_layout && !IsFile(root + "/config")) return Err(NotARepository(root));
  // A repository copied by a tool that skips empty folders may lack some;
  // recreate them. Failure is fine here (a read-only copy can still be
  // read); Save reports it when it matters.
  for (const char* dir : kAllDirs) (void)posix::MakeDir(root + "/" + dir, kDirMode);
  RemoveStaleTemps(root + "/" + kTmp);
  return std::unique_ptr<LocalBackend>(new LocalBackend(root));
}

std::string LocalBackend::PathOf(const ObjectName& object) const {
  if (object.kind == ObjectKind::kConfig) return root_ + "/config";
  std::string path = root_ + "/" + ObjectKindName(object.kind) + "/";
  if (object.kind == ObjectKind::kData) path += object.name.substr(0, 2) + "/";
  return path + object.name;
}

// A file in tmp/ that Commit renames into place; removed if never committed.
class LocalBackend::Writer : public ObjectWriter {
 public:
  Writer(ObjectName object, uint64_t size, std::string target, std::string tmp, Fd fd)
      : object_(std::move(object)), size_(size), target_(std::move(target)),
        tmp_(std::move(tmp)), fd_(std::move(fd)) {}
  ~Writer() override {
    if (!committed_) ::unlink(tmp_.c_str());
  }

  Status Write(ByteView data) override {
    if (!fd_.valid()) return InternalError("write after commit");
    written_ += data.size();
    return posix::WriteAll(fd_.get(), data, tmp_).WithContext("save " + object_.ToString());
  }

  Status Commit() override {
    if (!fd_.valid()) return InternalError("commit twice");
    RETURN_IF_ERROR(CheckStreamedSize(object_.ToString(), written_, size_));
    Status status = ::fsync(fd_.get()) == 0 ? Status::Ok() : ErrnoStatus(errno, "fsync " + tmp_);
    // The file stays open (and locked) until it is renamed: an unlocked
    // file in tmp/ is a dead writer's (RemoveStaleTemps).
    const std::string dir = posix::ParentOf(target_);
    if (status.ok() && object_.kind == ObjectKind::kData) {
      auto created = posix::MakeDir(dir, kDirMode);
      if (!created) {
        status = created.error();
      } else if (*created) {
        status = posix::SyncDir(posix::ParentOf(dir));
      }
    }
    if (status.ok()) status = RenameNoReplace(tmp_, target_, object_);
    Status closed = fd_.Close(tmp_);
    if (status.ok()) status = closed;
    // Whatever failed (full disk, taken name), the destructor removes tmp_.
    if (!status.ok()) return status.WithContext("save " + object_.ToString());
    committed_ = true;
    // The object is visible; this makes its name survive a crash.
    return posix::SyncDir(dir).WithContext("save " + object_.ToString());
  }

 private:
  ObjectName object_;
  const uint64_t size_;
  uint64_t written_ = 0;
  std::string target_;
  std::string tmp_;
  Fd fd_;
  bool committed_ = false;
};

Result<std::unique_ptr<ObjectWriter>> LocalBackend::NewWriter(const ObjectName& object, uint64_t size) {
  RETURN_IF_ERROR(ValidateObject(object));
  std::string target = PathOf(object);
  // Cheap early answer for the common duplicate (an interrupted backup
  // resending packs); the rename in Commit is what makes it race-free.
  if (::access(target.c_str(), F_OK) == 0) {
    return Err(AlreadyExistsError(object.ToString() + " already exists")
                   .WithContext("save " + object.ToString()));
  }
  std::string tmp = root_ + "/" + kTmp + "/" + HexEncode(crypto::RandomBytes(16));
  auto fd = posix::OpenFile(tmp, O_WRONLY | O_CREAT | O_EXCL, kFileMode);
  if (!fd) return Err(fd.error().WithContext("save " + object.ToString()));
  // Marks the file as this live writer's; the lock goes with the process.
  (void)::flock(fd->get(), LOCK_EX | LOCK_NB);
  return std::unique_ptr<ObjectWriter>(
      new Writer(object, size, std::move(target), std::move(tmp), std::move(*fd)));
}

Status LocalBackend::Save(const ObjectName& object, ByteView data) {
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> writer, NewWriter(object, data.size()));
  RETURN_IF_ERROR(writer->Write(data));
  return writer->Commit();
}

void LocalBackend::RemoveTemporaries() {
  auto names = posix::ReadDirNames(root_ + "/" + kTmp);
  if (!names) return;
  for (const std::string& name : *names) ::unlink((root_ + "/" + kTmp + "/" + name).c_str());
}

Result<Bytes> LocalBackend::Load(const ObjectName& object, uint64_t offset,
                                 uint64_t length) {
  RETURN_IF_ERROR(ValidateObject(object));
  const std::string path = PathOf(object);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Err(ObjectErrno(errno, object, "open " + path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Err(ErrnoStatus(errno, "stat " + path));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size || length > size - offset) {
    return Err(CorruptionError("object " + object.ToString() + " is " +
                               std::to_string(size) + " bytes, range " +
                               std::to_string(offset) + "+" +
                               std::to_string(length) + " runs past its end"));
  }
  Bytes out(length == 0 ? size - offset : length);
  RETURN_IF_ERROR(posix::ReadAllAt(fd.get(), offset, out.data(), out.size(), path)
                      .WithContext("load " + object.ToString()));
  return out;
}

Result<uint64_t> LocalBackend::Stat(const ObjectName& object) {
  RETURN_IF_ERROR(ValidateObject(object));
  const std::string path = PathOf(object);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Err(ObjectErrno(errno, object, "stat " + path));
  }
  return static_cast<uint64_t>(st.st_size);
}

Status LocalBackend::Remove(const ObjectName& object) {
  RETURN_IF_ERROR(ValidateObject(object));
  const std::string path = PathOf(object);
  if (::unlink(path.c_str()) != 0) {
    return ObjectErrno(errno, object, "remove " + path);
  }
  return posix::SyncDir(posix::ParentOf(path))
      .WithContext("remove " + object.ToString());
}

Status LocalBackend::List(ObjectKind kind,
                          const std::function<Status(const ObjectInfo&)>& fn) {
  RETURN_IF_ERROR(ValidateObjectKind(kind));
  if (kind == ObjectKind::kConfig) {
    struct stat st;
    const std::string path = root_ + "/config";
    if (::stat(path.c_str(), &st) != 0) {
      return errno == ENOENT ? Status::Ok() : ErrnoStatus(errno, "stat " + path);
    }
    return fn(ObjectInfo{std::string(kConfigName), static_cast<uint64_t>(st.st_size)});
  }
  const std::string dir = root_ + "/" + ObjectKindName(kind);
  if (kind != ObjectKind::kData) return ListFolder(dir, "", fn);
  auto subdirs = posix::ReadDirNames(dir);
  if (!subdirs) return subdirs.error().WithContext("list data");
  for (const std::string& sub : *subdirs) {
    if (sub.size() > 2 || !ValidateObjectName(sub).ok()) continue;
    RETURN_IF_ERROR(ListFolder(dir + "/" + sub, sub, fn));
  }
  return Status::Ok();
}

}  // namespace coffre::storage
