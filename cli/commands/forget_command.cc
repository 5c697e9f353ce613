// coffre forget: removes snapshots, named or by --keep-* rules; --dry-run
// shows what would go. The data stays until `prune`.
#include <iostream>

#include "agent/maintain/forget.h"
#include "cli/context.h"
#include "agent/util/exit_codes.h"
#include "cli/output/format.h"

namespace coffre::cli {

namespace {

struct ForgetArgs {
  std::vector<std::string> snapshots;
  maintain::RetentionPolicy policy;
  std::string keep_within;
  repo::SnapshotFilter filter;
  bool dry_run = false;
};

// A wrong combination of options: the one error line, and exit code 2.
void UsageError(Context& ctx, const Status& status) {
  ctx.Fail(status);
  ctx.exit_code = kExitUsage;
}

void RunForget(Context& ctx, const ForgetArgs& args) {
  maintain::ForgetOptions options;
  options.snapshots = args.snapshots;
  options.policy = args.policy;
  options.filter = args.filter;
  options.dry_run = args.dry_run;
  if (!args.keep_within.empty()) {
    auto within = maintain::ParseRetentionDuration(args.keep_within);
    if (!within) return UsageError(ctx, within.error());
    options.policy.keep_within_ns = *within;
  }
  if (options.snapshots.empty() == options.policy.Empty()) {
    return UsageError(ctx, InvalidArgumentError(options.snapshots.empty()
                                                    ? "give snapshots to forget or --keep-* rules"
                                                    : "give snapshots or --keep-* rules, not both"));
  }
  if (!options.snapshots.empty() && !options.filter.Empty()) {
    return UsageError(ctx, InvalidArgumentError(
                               "--host, --path and --tag choose what --keep-* rules judge; "
                               "named snapshots are forgotten as named"));
  }
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
  auto report = maintain::Forget(**repo, options);
  if (!report) return ctx.Fail(report.error().WithContext("forget"));
  for (const auto& d : report->damaged) {
    bool named = false;
    for (const auto& decision : report->decisions) named |= decision.id == d.id.Hex() && !decision.keep;
    if (!named)
      ctx.Warn("snapshot " + d.id.Hex() + " is damaged (" + d.error.message() +
               "): no rule judges it; `coffre forget " + d.id.Short() + "` removes it");
  }

  size_t going = 0;
  for (const auto& d : report->decisions) going += d.keep ? 0 : 1;
  if (ctx.global.json) {
    Json keep = Json::array(), remove = Json::array();
    for (const auto& d : report->decisions) {
      if (d.keep) {
        keep.push_back(Json{{"id", d.id}, {"reasons", d.reasons}});
      } else {
        remove.push_back(d.id);
      }
    }
    std::cout << DumpJson(Json{{"dry_run", args.dry_run},
                               {"keep", keep},
                               {"remove", remove},
                               {"removed", report->removed}})
              << std::endl;
    return;
  }
  if (ctx.global.quiet) return;
  for (const auto& d : report->decisions) {
    std::string reasons;
    for (const auto& r : d.reasons) reasons += (reasons.empty() ? "" : ", ") + r;
    std::cout << (d.keep ? "keep    " : "remove  ") << d.id.substr(0, 8)
              << (d.keep ? "  (" + reasons + ")" : "") << "\n";
  }
  std::cout << (args.dry_run ? "would remove " : "removed ")
            << (args.dry_run ? going : report->removed) << " snapshot(s), kept "
            << report->decisions.size() - going
            << "; run `coffre prune` to free the space of data no snapshot uses" << std::endl;
}

}  // namespace

void AddForgetCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ForgetArgs>();
  CLI::App* cmd = app.add_subcommand("forget", "remove snapshots (named, or by --keep-* rules)");
  cmd->add_option("snapshots", args->snapshots, "ids, unique prefixes or latest");
  cmd->add_option("--keep-last", args->policy.keep_last, "keep the N newest");
  cmd->add_option("--keep-hourly", args->policy.keep_hourly, "keep the newest of N hours");
  cmd->add_option("--keep-daily", args->policy.keep_daily, "keep the newest of N days");
  cmd->add_option("--keep-weekly", args->policy.keep_weekly, "keep the newest of N ISO weeks");
  cmd->add_option("--keep-monthly", args->policy.keep_monthly, "keep the newest of N months");
  cmd->add_option("--keep-yearly", args->policy.keep_yearly, "keep the newest of N years");
  cmd->add_option("--keep-within", args->keep_within,
                  "keep all newer than the newest minus this (36h, 7d, 2w, 6m, 1y)");
  cmd->add_option("--keep-tag", args->policy.keep_tags, "keep snapshots with this tag (repeatable)");
  cmd->add_option("--host", args->filter.host, "with --keep-*: only this host's snapshots");
  cmd->add_option("--path", args->filter.paths,
                  "with --keep-*: only snapshots of exactly these paths (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--tag", args->filter.tags,
                  "with --keep-*: only snapshots carrying this tag (repeatable: all of them)")
      ->allow_extra_args(false);
  cmd->add_flag("--dry-run,-n", args->dry_run, "show what would be removed, remove nothing");
  cmd->callback([&ctx, args] { RunForget(ctx, *args); });
}

}  // namespace coffre::cli
