// coffre check [--read-data]: verifies the repository; exit 4 on damage.
#include <iostream>

#include "agent/maintain/checker.h"
#include "cli/context.h"
#include "agent/util/exit_codes.h"
#include "cli/output/format.h"

namespace coffre::cli {

void AddCheckCommand(CLI::App& app, Context& ctx) {
  auto read_data = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("check", "verify the repository");
  cmd->add_flag("--read-data", *read_data, "also read, decrypt and verify every blob");
  cmd->callback([&ctx, read_data] {
    auto repo = ctx.OpenRepository();
    if (!repo) return ctx.Fail(repo.error());
    maintain::CheckOptions options;
    options.read_data = *read_data;
    options.cancel = &ctx.cancel;
    options.report = [](const std::string& line) {
      std::cerr << "coffre: damage: " << line << std::endl;
    };
    options.note = [&ctx](const std::string& line) {
      if (!ctx.global.quiet && !ctx.global.json) std::cout << "note: " << line << std::endl;
    };
    auto stats = maintain::RunCheck(**repo, options);
    if (!stats) return ctx.Fail(stats.error().WithContext("check failed"));
    if (ctx.global.json) {
      std::cout << DumpJson(Json{{"ok", stats->errors == 0},
                                 {"errors", stats->errors},
                                 {"snapshots", stats->snapshots},
                                 {"trees", stats->trees},
                                 {"packs", stats->packs},
                                 {"blobs_read", stats->blobs_read},
                                 {"unindexed_packs", stats->unindexed_packs}})
                << std::endl;
    } else if (!ctx.global.quiet) {
      std::cout << "checked " << stats->snapshots << " snapshots, " << stats->trees << " trees, "
                << stats->packs << " packs";
      if (*read_data) std::cout << ", " << stats->blobs_read << " blobs read";
      std::cout << ": " << (stats->errors ? std::to_string(stats->errors) + " problem(s)" : "no errors")
                << std::endl;
    }
    if (stats->errors) {
      std::cerr << "coffre: error: the repository is damaged: " << stats->errors
                << " problem(s) found (listed above)" << std::endl;
      ctx.SetExit(kExitDamaged);
    }
  });
}

}  // namespace coffre::cli
