// coffre backup PATH...: takes a snapshot; one summary line or --json.
#include <iostream>

#include "agent/backup/archiver.h"
#include "cli/context.h"
#include "cli/exit_codes.h"
#include "cli/output/format.h"
#include "cli/output/progress.h"

namespace coffre::cli {

namespace {

struct BackupArgs {
  std::vector<std::string> paths;
  std::vector<std::string> tags;
  std::string host;
  int compression = -1;
  bool force = false;
};

void RunBackupCommand(Context& ctx, const BackupArgs& args) {
  // The directories are read while the key is derived (a fifth of a second
  // of scrypt that the disk and the other core would otherwise sit out).
  std::unique_ptr<backup::ListingPrefetcher> listings = backup::StartListing(args.paths);
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
  backup::BackupOptions options;
  options.listings = listings.get();
  options.paths = args.paths;
  options.tags = args.tags;
  options.host = args.host;
  options.compression_level = args.compression;
  options.force = args.force;
  options.cancel = &ctx.cancel;
  ProgressLine progress(ctx.ShowProgress());
  options.warn = [&](const std::string& line) {
    progress.Clear();
    std::cerr << "coffre: warning: " << line << std::endl;
  };
  // No callback at all when nothing is drawn (cron): the walk then skips
  // building a progress record per entry.
  std::function<void(const backup::BackupProgress&)> on_progress;
  if (ctx.ShowProgress()) {
    on_progress = [&](const backup::BackupProgress& p) {
      progress.Update(std::to_string(p.files) + " files, " + HumanBytes(p.bytes) + ": " +
                      p.current);
    };
  }
  auto result = backup::RunBackup(**repo, options, on_progress);
  progress.Clear();
  if (!result) return ctx.Fail(result.error().WithContext("backup failed"));

  const format::SnapshotStats& s = result->snapshot.stats;
  bool partial = s.errors > 0;
  if (ctx.global.json) {
    std::cout << DumpJson(Json{{"snapshot_id", result->snapshot_id.Hex()},
                               {"status", partial ? "partial" : "ok"},
                               {"files", s.files},
                               {"dirs", s.dirs},
                               {"bytes", s.bytes},
                               {"new_bytes", s.new_bytes},
                               {"errors", s.errors},
                               {"duration_ms", s.duration_ms}})
              << std::endl;
  } else if (!ctx.global.quiet) {
    std::cout << "snapshot " << result->snapshot_id.Short() << " saved: " << s.files
              << " files, " << HumanBytes(s.bytes) << ", " << HumanBytes(s.new_bytes)
              << " new, " << HumanDuration(s.duration_ms)
              << (partial ? ", " + std::to_string(s.errors) + " entries unreadable" : "")
              << std::endl;
  }
  if (partial) ctx.SetExit(kExitPartial);
}

}  // namespace

void AddBackupCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<BackupArgs>();
  CLI::App* cmd = app.add_subcommand("backup", "take a snapshot of files and folders");
  cmd->add_option("paths", args->paths, "files and folders to back up")->required();
  cmd->add_option("--tag", args->tags, "tag the snapshot (repeatable)");
  cmd->add_option("--host", args->host, "host name to record (default: this machine)");
  cmd->add_option("--compression", args->compression, "zstd level 1-19 (default 3)")
      ->check(CLI::Range(1, 19));
  cmd->add_flag("--force", args->force, "read every file, ignoring the parent snapshot");
  cmd->callback([&ctx, args] { RunBackupCommand(ctx, *args); });
}

}  // namespace coffre::cli
