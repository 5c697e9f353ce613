// coffre init: creates a repository and its first key slot.
#include <iostream>

#include "agent/repo/open_backend.h"
#include "cli/context.h"
#include "cli/output/format.h"

namespace coffre::cli {

void AddInitCommand(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("init", "create a new repository");
  cmd->callback([&ctx] {
    auto passphrase = ctx.Passphrase(/*confirm=*/true, "passphrase for the new repository: ");
    if (!passphrase) return ctx.Fail(passphrase.error());
    auto options = ctx.BackendOptions();
    if (!options) return ctx.Fail(options.error());
    auto backend = repo::CreateBackend(ctx.global.repo, *options);
    if (!backend) return ctx.Fail(backend.error());
    auto repo = repo::Repository::Init(std::move(*backend), AsBytes(*passphrase));
    if (!repo) return ctx.Fail(repo.error());
    std::string id = HexEncode((*repo)->config().repo_id);
    if (ctx.global.json) {
      std::cout << DumpJson(Json{{"repository", ctx.global.repo}, {"id", id}}) << std::endl;
    } else if (!ctx.global.quiet) {
      std::cout << "created repository " << id.substr(0, 8) << " at " << ctx.global.repo << "\n"
                << "Keep the passphrase safe: without it the backups cannot be restored."
                << std::endl;
    }
  });
}

}  // namespace coffre::cli
