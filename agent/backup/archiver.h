// Archiver: takes a snapshot of local paths into a repository (RunBackup;
// the walk itself is agent/backup/walker.h).
//
// The walk runs on the calling thread, directory by directory through open
// directory fds (no path is ever longer than one name, so paths of any length
// work and no symlink is followed). Directories are read ahead of it by a
// ListingPrefetcher (which can start before the key is derived) and
// prepared by a DirScanner on other threads: the parent snapshot's tree is
// loaded and, for each file, the change cache decides whether size, mtime,
// ctime and inode are unchanged; if so the file is not read at all.
// Otherwise it is read, cut into chunks and hashed on the walk's thread, and
// new chunks go to BlobSaver's workers. Each directory becomes a tree blob
// once its entries are done, so the snapshot does not depend on the order in
// which the helpers finish.
//
// An entry that cannot be read is reported through `warn`, counted in
// stats.errors and left out; the snapshot is still saved ("partial").
// Entries that the exclude rules leave out are neither read nor counted.
// Commands whose output is stored as files (CommandSource) run one after
// the other before the walk; one that fails fails the backup.
// Thread-safety: one Run at a time per Archiver.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/backup/command_source.h"
#include "agent/backup/exclude_rules.h"
#include "agent/backup/listing_prefetcher.h"
#include "agent/repo/repository.h"

namespace coffre::backup {

struct BackupOptions {
  std::vector<std::string> paths;  // made absolute and normalized by Run
  // What is left out below `paths` (exclude_rules.h); empty: nothing, and
  // the walk is exactly that of a backup without rules.
  ExcludeRules excludes;
  // Files of the snapshot made from commands' stdout (file mode 0600, owner
  // this process, mtime when the command ended). Their paths join the
  // snapshot's paths; the folders leading to them are taken from disk where
  // they exist there, else made up (0755, this process, now). May be the
  // only source of a backup. A command that fails fails the backup: no
  // snapshot is saved (the chunks already stored are indexed, like those of
  // a cancelled backup).
  std::vector<CommandSource> commands;
  std::vector<std::string> tags;
  std::string host;                // default: this machine's name
  int compression_level = -1;      // -1: the repository's default
  bool force = false;              // ignore the parent: read every file
  std::optional<ObjectId> parent;  // default: latest of same host and paths
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const std::string&)> warn;  // one line per problem
  // Directories already being read ahead (StartListing, before the key was
  // derived); null, or started with other exclude rules: the backup starts
  // its own.
  ListingPrefetcher* listings = nullptr;
};

// Starts reading the directories of `paths` ahead, before the repository is
// open: pass it as BackupOptions::listings, with the same `excludes`. Null
// if a path does not exist or a rule is malformed (the backup then reports
// it).
std::unique_ptr<ListingPrefetcher> StartListing(const std::vector<std::string>& paths,
                                                const ExcludeRules& excludes = {});

struct BackupProgress {
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t bytes = 0;       // file bytes seen (unchanged files count whole)
  uint64_t bytes_read = 0;  // file bytes read from disk
  // The parent snapshot's files and bytes, the likely totals; 0 without a
  // parent (first backup, --force): no total is known.
  uint64_t expected_files = 0;
  uint64_t expected_bytes = 0;
  std::string current;
};

struct BackupResult {
  ObjectId snapshot_id;
  format::Snapshot snapshot;
};

// Runs a backup. On success the snapshot, its trees, blobs and index are
// durable. kInvalidArgument for a malformed exclude rule or command path
// (CheckCommandSources); kCancelled if `cancel` was set (packs stored so far
// are indexed and reused next time); kIo naming a command that failed;
// other errors as met (kNoSpace, kIo...).
// `progress`, if set, is called from this thread now and then.
Result<BackupResult> RunBackup(repo::Repository& repo, const BackupOptions& options,
                               const std::function<void(const BackupProgress&)>& progress = {});

}  // namespace coffre::backup
