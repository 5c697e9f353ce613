// coffre: the command-line tool. Parses with CLI11 and hands each command to
// its file in cli/commands/; all the work happens in agent/.
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/context.h"
#include "cli/usage_error.h"
#include "agent/util/exit_codes.h"
#include "agent/util/malloc_tuning.h"

int main(int argc, char** argv) {
  using namespace coffre;
  using namespace coffre::cli;
  TuneMallocForLargeBuffers();
  Context ctx;
  CLI::App app{"coffre: encrypted, deduplicated backups of SME servers", "coffre"};
  app.set_version_flag("--version", "coffre 0.1.0");
  app.require_subcommand(1);
  // Global options are accepted before or after the command.
  app.fallthrough(true);
  AddGlobalOptions(app, ctx);  // --repo, --job, secrets, output, --limit-upload, --nice ...
  app.footer(
      "Exit codes: 0 ok, 1 failure, 2 usage, 3 partial backup, 4 damaged data, 5 wrong or "
      "missing passphrase, 6 not found, 7 newer repository format, 8 locked, 9 no space, "
      "130 interrupted.");

  AddInitCommand(app, ctx);
  AddBackupCommand(app, ctx);
  AddSnapshotsCommand(app, ctx);
  AddLsCommand(app, ctx);
  AddRestoreCommand(app, ctx);
  AddCheckCommand(app, ctx);
  AddKeyCommand(app, ctx);
  AddForgetCommand(app, ctx);
  AddPruneCommand(app, ctx);
  AddRepairCommand(app, ctx);
  AddAgentCommand(app, ctx);

  InstallSignalHandlers(&ctx.cancel);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // reported already (Context::Fail)
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "coffre: error: " << UsageErrorLine(app, e) << std::endl;
    return kExitUsage;
  }
  return ctx.exit_code;
}
