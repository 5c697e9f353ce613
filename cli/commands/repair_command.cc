// coffre repair index: rebuilds the index from the packs' own headers.
#include <iostream>

#include "agent/maintain/repair_index.h"
#include "cli/context.h"
#include "cli/output/format.h"

namespace coffre::cli {

namespace {

void RunRepairIndex(Context& ctx, bool dry_run) {
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
  maintain::RepairIndexOptions options;
  options.dry_run = dry_run;
  options.cancel = &ctx.cancel;
  options.warn = [&ctx](const std::string& line) { ctx.Warn(line); };
  auto stats = maintain::RepairIndex(**repo, options);
  if (!stats) return ctx.Fail(stats.error().WithContext("repair index"));
  if (ctx.global.json) {
    Json out{{"dry_run", dry_run},
             {"packs", stats->packs},
             {"blobs", stats->blobs},
             {"from_old_index", stats->from_old_index},
             {"lost_packs", stats->lost_packs},
             {"old_objects", stats->old_objects},
             {"new_objects", stats->new_objects}};
    ctx.AddTransferJson(out);
    std::cout << DumpJson(out) << std::endl;
  } else if (!ctx.global.quiet) {
    std::cout << (dry_run ? "would index " : "indexed ") << stats->packs << " packs ("
              << stats->blobs << " blobs) from their own headers";
    if (stats->from_old_index)
      std::cout << ", " << stats->from_old_index << " with a damaged header as the old index had them";
    std::cout << "; " << (dry_run ? "would replace " : "replaced ") << stats->old_objects
              << " index object(s) by " << (dry_run ? "new ones" : std::to_string(stats->new_objects))
              << ctx.TransferText() << std::endl;
  }
  if (stats->lost_packs) {
    ctx.Warn(std::to_string(stats->lost_packs) +
             " pack(s) could not be read at all (listed above): `coffre check` names the files "
             "that used them");
  }
}

}  // namespace

void AddRepairCommand(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("repair", "rebuild what damage made unreadable");
  cmd->require_subcommand(1);
  auto dry_run = std::make_shared<bool>(false);
  CLI::App* index = cmd->add_subcommand(
      "index", "rebuild the index from the packs' own headers, replacing every index object");
  index->add_flag("--dry-run,-n", *dry_run, "read and count, change nothing");
  index->callback([&ctx, dry_run] { RunRepairIndex(ctx, *dry_run); });
}

}  // namespace coffre::cli
