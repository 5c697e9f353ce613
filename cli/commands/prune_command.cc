// coffre prune: deletes the data no snapshot uses and repacks half-empty
// packs, safely while backups run (docs/prune.md). --dry-run only counts.
#include <iostream>

#include "agent/maintain/prune.h"
#include "agent/util/exit_codes.h"
#include "cli/context.h"
#include "cli/output/format.h"
#include "core/base/duration.h"

namespace coffre::cli {

namespace {

struct PruneArgs {
  bool dry_run = false;
  double repack_below = 50;
  std::string grace = "0s";
  std::string clock_skew = "5m";
};

void RunPrune(Context& ctx, const PruneArgs& args) {
  maintain::PruneOptions options;
  options.dry_run = args.dry_run;
  options.repack_below = args.repack_below / 100.0;
  auto grace = ParseDuration(args.grace);
  if (!grace) {
    ctx.Fail(grace.error().WithContext("--grace"));
    ctx.exit_code = kExitUsage;
    return;
  }
  options.grace = *grace;
  auto skew = ParseDuration(args.clock_skew);
  if (!skew) {
    ctx.Fail(skew.error().WithContext("--clock-skew"));
    ctx.exit_code = kExitUsage;
    return;
  }
  options.clock_skew = *skew;
  options.cancel = &ctx.cancel;
  options.warn = [](const std::string& line) { std::cerr << "coffre: warning: " << line << "\n"; };
  if (!ctx.global.quiet && !ctx.global.json)
    options.note = [](const std::string& line) { std::cerr << line << "\n"; };
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
  auto stats = maintain::Prune(**repo, options);
  if (!stats) return ctx.Fail(stats.error().WithContext("prune"));

  const maintain::PruneStats& s = *stats;
  if (ctx.global.json) {
    std::cout << DumpJson(Json{{"dry_run", args.dry_run},
                               {"snapshots", s.snapshots},
                               {"packs", s.packs},
                               {"unused_packs", s.unused_packs},
                               {"repacked_packs", s.repacked_packs},
                               {"repacked_blobs", s.repacked_blobs},
                               {"repacked_bytes", s.repacked_bytes},
                               {"condemned_bytes", s.condemned_bytes},
                               {"plan", s.plan ? s.plan->Hex() : ""},
                               {"plans_swept", s.plans_swept},
                               {"plans_waiting", s.plans_waiting},
                               {"deleted_packs", s.deleted_packs},
                               {"deleted_bytes", s.deleted_bytes},
                               {"rescued_packs", s.rescued_packs},
                               {"stale_locks", s.stale_locks},
                               {"unindexed_packs", s.unindexed_packs}})
              << std::endl;
    return;
  }
  if (ctx.global.quiet) return;
  if (args.dry_run) {
    std::cout << "would condemn " << s.unused_packs + s.repacked_packs << " of " << s.packs
              << " packs (" << HumanBytes(s.condemned_bytes) << "), copying " << s.repacked_blobs
              << " used blobs out of " << s.repacked_packs << " of them" << std::endl;
    return;
  }
  std::cout << "deleted " << s.deleted_packs << " packs (" << HumanBytes(s.deleted_bytes) << ")";
  if (s.repacked_packs)
    std::cout << ", repacked " << s.repacked_packs << " into " << HumanBytes(s.repacked_bytes);
  if (s.plans_waiting)
    std::cout << "; " << s.plans_waiting
              << " plan(s) wait for backups that were running: the next prune deletes them";
  std::cout << std::endl;
}

}  // namespace

void AddPruneCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<PruneArgs>();
  CLI::App* cmd = app.add_subcommand(
      "prune", "delete data no snapshot uses and repack half-empty packs (safe during backups)");
  cmd->add_flag("--dry-run,-n", args->dry_run, "count what would be condemned, change nothing");
  cmd->add_option("--repack-below", args->repack_below,
                  "repack packs whose used bytes are under this percentage (default 50)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--grace", args->grace,
                  "wait at least this long between condemning packs and deleting them "
                  "(default 0s: running backups are protected by their locks)");
  cmd->add_option("--clock-skew", args->clock_skew,
                  "how far apart the clocks of the hosts using the repository may be "
                  "(default 5m; 0s if one host uses it)");
  cmd->callback([&ctx, args] { RunPrune(ctx, *args); });
}

}  // namespace coffre::cli
