// coffre repair index: rebuilds the index from the packs' own headers.
// coffre repair snapshots: new snapshots without what damage made unreadable.
#include <iostream>

#include "agent/maintain/repair_index.h"
#include "agent/maintain/repair_snapshots.h"
#include "agent/util/exit_codes.h"
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

struct RepairSnapshotsArgs {
  std::vector<std::string> snapshots;
  bool read_data = false;
  bool dry_run = false;
};

void RunRepairSnapshots(Context& ctx, const RepairSnapshotsArgs& args) {
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
  maintain::RepairSnapshotsOptions options;
  options.snapshots = args.snapshots;
  options.read_data = args.read_data;
  options.dry_run = args.dry_run;
  options.cancel = &ctx.cancel;
  options.warn = [&ctx](const std::string& line) { ctx.Warn(line); };
  auto stats = maintain::RepairSnapshots(**repo, options);
  if (!stats) return ctx.Fail(stats.error().WithContext("repair snapshots"));
  size_t lost = 0;
  for (const auto& r : stats->repaired) lost += !r.repaired && !args.dry_run;
  if (ctx.global.json) {
    Json repaired = Json::array();
    for (const auto& r : stats->repaired)
      repaired.push_back(Json{{"original", r.original.Hex()},
                              {"repaired", r.repaired ? Json(r.repaired->Hex()) : Json(nullptr)},
                              {"damaged", r.damaged}});
    std::cout << DumpJson(Json{{"dry_run", args.dry_run},
                               {"checked", stats->checked},
                               {"already_repaired", stats->already_repaired},
                               {"repaired", repaired}})
              << std::endl;
  } else if (!ctx.global.quiet) {
    for (const auto& r : stats->repaired) {
      std::cout << "snapshot " << r.original.Short() << ": " << r.damaged.size()
                << " damaged entr" << (r.damaged.size() == 1 ? "y" : "ies");
      if (r.repaired) std::cout << " -> new snapshot " << r.repaired->Short();
      std::cout << "\n";
      for (const auto& line : r.damaged) std::cout << "  " << line << "\n";
    }
    std::cout << "checked " << stats->checked << " snapshot(s): " << stats->repaired.size()
              << (args.dry_run ? " would be repaired" : " repaired");
    if (stats->already_repaired) std::cout << ", " << stats->already_repaired << " repaired before";
    if (!stats->repaired.empty() && !args.dry_run)
      std::cout << "; the originals stay until you forget them (each new snapshot lists what it "
                   "lacks in /"
                << maintain::kDamageReportName << ")";
    std::cout << std::endl;
  }
  if (lost) {
    ctx.Fail(CorruptionError(std::to_string(lost) +
                             " snapshot(s) have an unreadable root folder: nothing of them is left"));
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

  auto args = std::make_shared<RepairSnapshotsArgs>();
  CLI::App* snapshots = cmd->add_subcommand(
      "snapshots",
      "for snapshots with missing or damaged data, write new ones holding everything still "
      "readable, naming each left-out file in /" + std::string(maintain::kDamageReportName));
  snapshots->add_option("snapshots", args->snapshots, "ids or prefixes (default: all)");
  snapshots->add_flag("--read-data", args->read_data,
                      "read every chunk, not only check that its pack exists");
  snapshots->add_flag("--dry-run,-n", args->dry_run, "say what is damaged, write nothing");
  snapshots->callback([&ctx, args] { RunRepairSnapshots(ctx, *args); });
}

}  // namespace coffre::cli
