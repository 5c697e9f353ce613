// coffre backup PATH...: takes a snapshot; one summary line or --json.
#include <iostream>

#include "agent/backup/archiver.h"
#include "agent/backup/backup_paths.h"
#include "agent/util/exit_codes.h"
#include "cli/context.h"
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
  std::vector<std::string> excludes;
  std::vector<std::string> exclude_files;
  std::vector<std::string> exclude_if_present;
  bool exclude_caches = false;
  bool one_file_system = false;
  std::vector<std::string> from_commands;
};

// A wrong combination of options or a bad rule: the one error line, exit 2.
void UsageError(Context& ctx, const Status& status) {
  ctx.Fail(status);
  ctx.exit_code = kExitUsage;
}

// The rules and commands of the flags, checked as far as they can be
// without the repository, so a typo costs no key derivation.
Status BuildSources(const BackupArgs& args, backup::BackupOptions* options) {
  if (args.paths.empty() && args.from_commands.empty())
    return InvalidArgumentError("give paths to back up, or --from-command");
  backup::ExcludeRules& rules = options->excludes;
  rules.patterns = args.excludes;
  for (const std::string& file : args.exclude_files) {
    ASSIGN_OR_RETURN(std::vector<std::string> patterns, backup::LoadExcludeFile(file));
    rules.patterns.insert(rules.patterns.end(), patterns.begin(), patterns.end());
  }
  rules.if_present = args.exclude_if_present;
  rules.caches = args.exclude_caches;
  rules.one_file_system = args.one_file_system;
  RETURN_IF_ERROR(StatusOf(backup::ExcludeFilter::Compile(rules)));
  for (const std::string& arg : args.from_commands) {
    ASSIGN_OR_RETURN(backup::CommandSource source, backup::ParseCommandSource(arg));
    options->commands.push_back(std::move(source));
  }
  // A path that does not exist is left for the backup to report.
  if (auto normal = backup::NormalizePaths(args.paths))
    RETURN_IF_ERROR(backup::CheckCommandSources(*normal, options->commands));
  return Status::Ok();
}

void RunBackupCommand(Context& ctx, const BackupArgs& args) {
  backup::BackupOptions options;
  Status usable = BuildSources(args, &options);
  if (!usable.ok()) return UsageError(ctx, usable);
  // The directories are read while the key is derived (a fifth of a second
  // of scrypt that the disk and the other core would otherwise sit out).
  std::unique_ptr<backup::ListingPrefetcher> listings =
      backup::StartListing(args.paths, options.excludes);
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
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
      if (progress.Due()) progress.Update(BackupProgressText(p, progress.ElapsedSeconds()));
    };
  }
  auto result = backup::RunBackup(**repo, options, on_progress);
  progress.Clear();
  if (!result) return ctx.Fail(result.error().WithContext("backup failed"));

  const format::SnapshotStats& s = result->snapshot.stats;
  bool partial = s.errors > 0;
  if (ctx.global.json) {
    Json out{{"snapshot_id", result->snapshot_id.Hex()},
             {"status", partial ? "partial" : "ok"},
             {"files", s.files},
             {"dirs", s.dirs},
             {"bytes", s.bytes},
             {"new_bytes", s.new_bytes},
             {"errors", s.errors},
             {"duration_ms", s.duration_ms}};
    ctx.AddTransferJson(out);
    std::cout << DumpJson(out) << std::endl;
  } else if (!ctx.global.quiet) {
    std::cout << "snapshot " << result->snapshot_id.Short() << " saved: " << s.files
              << " files, " << HumanBytes(s.bytes) << ", " << HumanBytes(s.new_bytes)
              << " new, " << HumanDuration(s.duration_ms) << ctx.TransferText()
              << (partial ? ", " + std::to_string(s.errors) + " entries unreadable" : "")
              << std::endl;
  }
  if (partial) ctx.SetExit(kExitPartial);
}

}  // namespace

void AddBackupCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<BackupArgs>();
  CLI::App* cmd = app.add_subcommand("backup", "take a snapshot of files and folders");
  cmd->add_option("paths", args->paths, "files and folders to back up");
  // One value per occurrence: CLI11 would otherwise let a repeatable option
  // swallow the paths that follow it ("--tag daily /srv").
  cmd->add_option("--tag", args->tags, "tag the snapshot (repeatable)")->allow_extra_args(false);
  cmd->add_option("--host", args->host, "host name to record (default: this machine)");
  cmd->add_option("--compression", args->compression, "zstd level 1-19 (default 3)")
      ->check(CLI::Range(1, 19));
  cmd->add_flag("--force", args->force, "read every file, ignoring the parent snapshot");
  cmd->add_option("--exclude", args->excludes,
                  "leave out what matches this glob pattern (repeatable; see docs/cli.md)")
      ->allow_extra_args(false);
  cmd->add_option("--exclude-file", args->exclude_files,
                  "read exclude patterns from FILE, one a line (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--exclude-if-present", args->exclude_if_present,
                  "leave out folders holding an entry of this name, e.g. .nobackup (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--exclude-caches", args->exclude_caches,
                "leave out folders holding a valid CACHEDIR.TAG");
  cmd->add_flag("-x,--one-file-system", args->one_file_system,
                "do not descend into other file systems (mount points are kept empty)");
  cmd->add_option("--from-command", args->from_commands,
                  "PATH=COMMAND: store COMMAND's output as file PATH of the snapshot (repeatable)")
      ->allow_extra_args(false);
  cmd->callback([&ctx, args] { RunBackupCommand(ctx, *args); });
}

}  // namespace coffre::cli
