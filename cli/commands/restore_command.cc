// coffre restore SNAPSHOT --target DIR [PATH...]: brings a snapshot back.
#include <iostream>

#include "agent/restore/restorer.h"
#include "cli/context.h"
#include "agent/util/exit_codes.h"
#include "cli/output/format.h"

namespace coffre::cli {

namespace {

struct RestoreArgs {
  std::string snapshot;
  std::string target;
  std::vector<std::string> paths;
};

void RunRestoreCommand(Context& ctx, const RestoreArgs& args) {
  if (args.target == "-") {
    // Not a folder named "-": a user who typed it wanted standard output.
    ctx.Fail(InvalidArgumentError(
        "--target - (standard output) is not supported: give a folder to restore into"));
    ctx.exit_code = kExitUsage;
    return;
  }
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
  std::vector<repo::DamagedSnapshot> damaged;
  auto snap = (*repo)->FindSnapshot(args.snapshot, &damaged);
  ctx.WarnDamaged(damaged);
  if (!snap) return ctx.Fail(snap.error());
  restore::RestoreOptions options;
  options.target = args.target;
  options.include = args.paths;
  options.cancel = &ctx.cancel;
  options.warn = [](const std::string& line) { std::cerr << "coffre: error: " << line << std::endl; };
  options.note = [&ctx](const std::string& line) { ctx.Warn(line); };
  auto stats = restore::RunRestore(**repo, snap->snapshot, options);
  if (!stats) return ctx.Fail(stats.error().WithContext("restore failed"));
  if (ctx.global.json) {
    Json out{{"snapshot_id", snap->id.Hex()},
             {"target", args.target},
             {"files", stats->files},
             {"dirs", stats->dirs},
             {"others", stats->others},
             {"bytes", stats->bytes},
             {"damaged", stats->damaged},
             {"problems", stats->problems}};
    ctx.AddTransferJson(out);
    std::cout << DumpJson(out) << std::endl;
  } else if (!ctx.global.quiet) {
    std::cout << "restored snapshot " << snap->id.Short() << " to " << args.target << ": "
              << stats->files << " files, " << stats->dirs << " dirs, " << HumanBytes(stats->bytes)
              << ctx.TransferText() << std::endl;
  }
  if (stats->damaged) {
    std::cerr << "coffre: error: " << stats->damaged
              << " file(s) could not be fully restored from damaged data (listed above)"
              << std::endl;
    ctx.SetExit(kExitDamaged);
  } else if (stats->problems) {
    std::cerr << "coffre: error: " << stats->problems
              << " entries could not be restored exactly (listed above)" << std::endl;
    ctx.SetExit(kExitFailure);
  }
}

}  // namespace

void AddRestoreCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<RestoreArgs>();
  CLI::App* cmd = app.add_subcommand("restore", "restore a snapshot into a folder");
  cmd->footer(
      "Into a folder that already holds files: every entry the snapshot restores replaces what "
      "has its name there (a local edit of such a file is lost; the old file is unlinked, so a "
      "hard link to it elsewhere keeps the old content); entries the snapshot does not hold are "
      "left as they are; a non-empty folder where the snapshot has a file is an error for that "
      "entry. Restore into an empty folder to keep what is there.");
  cmd->add_option("snapshot", args->snapshot, "snapshot id, prefix or 'latest'")->required();
  cmd->add_option("-t,--target", args->target, "folder to restore into (created if missing)")
      ->required();
  cmd->add_option("paths", args->paths, "absolute paths inside the snapshot (default: all)");
  cmd->callback([&ctx, args] { RunRestoreCommand(ctx, *args); });
}

}  // namespace coffre::cli
