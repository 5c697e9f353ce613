// Context: what every command shares: the global options, the cancel flag
// set by SIGINT/SIGTERM, and the helpers that open the repository and
// report errors uniformly (one line on stderr, exit code from exit_codes.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/repo/open_backend.h"
#include "agent/repo/repository.h"
#include "agent/util/priority.h"

namespace coffre::cli {

struct GlobalOptions {
  // Each of these four comes from its option, else from --job's job in the
  // agent's configuration, else from the environment (COFFRE_REPO,
  // COFFRE_PASSWORD_FILE, COFFRE_TOKEN_FILE, COFFRE_CACERT).
  std::string repo;
  std::string password_file;
  std::string token_file;  // a vault's API token
  std::string cacert;      // a self-signed vault's certificate
  std::string job;           // --job: take the four above from this agent job
  std::string agent_config;  // --agent-config, COFFRE_AGENT_CONFIG, /etc/coffre/agent.conf
  std::string cache_dir;     // --cache-dir; "" is repo::DefaultCacheDir()
  bool no_cache = false;     // --no-cache
  bool json = false;
  bool quiet = false;
  bool progress = false;
  uint64_t limit_upload = 0;         // --limit-upload, bytes per second; 0: none
  uint64_t limit_download = 0;       // --limit-download, bytes per second; 0: none
  uint32_t retry_for_s = 300;        // --retry-for, COFFRE_RETRY_FOR
  std::optional<int> nice;           // --nice
  std::optional<IoPriority> ionice;  // --ionice
};

struct Context {
  GlobalOptions global;
  // What crossed the line to a vault during this run (BackendOptions).
  std::shared_ptr<storage::TransferCounter> transfer =
      std::make_shared<storage::TransferCounter>();
  // For a vault repository: ", sent 1.2 MiB, received 3.0 KiB in 14 requests";
  // "" for a local one.
  std::string TransferText() const;
  // The same as JSON fields, added to `json` for a vault repository.
  void AddTransferJson(nlohmann::ordered_json& json) const;
  std::atomic<bool> cancel{false};
  int exit_code = 0;

  // The passphrase from --password-file, COFFRE_PASSWORD_FILE,
  // COFFRE_PASSWORD, or a prompt on the terminal (twice if `confirm`).
  // kAuthFailed when no source exists and stdin is not a terminal.
  Result<std::string> Passphrase(bool confirm = false, const std::string& prompt = "");
  // The vault token (--token-file, or COFFRE_TOKEN) and --cacert.
  Result<repo::BackendOptions> BackendOptions() const;
  // Opens the repository of --repo/COFFRE_REPO with the passphrase.
  Result<std::unique_ptr<repo::Repository>> OpenRepository();
  // Applies --nice and --ionice to the whole process. Run once, right after
  // parsing and before any command starts a thread.
  Status ApplyPriority() const;
  // True if a progress line should be drawn on stderr.
  bool ShowProgress() const;

  // Prints "coffre: warning: LINE" on stderr unless --quiet.
  void Warn(const std::string& line) const;
  // One warning per snapshot that cannot be read and was skipped, with how
  // to get rid of it.
  void WarnDamaged(const std::vector<repo::DamagedSnapshot>& damaged) const;
  // Prints "coffre: error: MESSAGE" and sets exit_code from the status.
  void Fail(const Status& status);
  // Sets exit_code to `code` (keeps an earlier, worse one).
  void SetExit(int code);
};

// Installs SIGINT/SIGTERM handlers that set `cancel` (a second signal exits
// at once with 130).
void InstallSignalHandlers(std::atomic<bool>* cancel);

// Registers the global options on `app` (--repo, --job, the secret files,
// --json, --quiet, --progress, --limit-upload, --limit-download, --nice, --ionice). Once
// parsing is complete, before the command's callback runs, it fills in
// what --job and the environment give and applies the priorities (on
// failure: the error is reported through ctx.Fail and parse() throws
// CLI::RuntimeError with the exit code).
void AddGlobalOptions(CLI::App& app, Context& ctx);

// Each command file registers its subcommand.
void AddInitCommand(CLI::App& app, Context& ctx);
void AddBackupCommand(CLI::App& app, Context& ctx);
void AddSnapshotsCommand(CLI::App& app, Context& ctx);
void AddLsCommand(CLI::App& app, Context& ctx);
void AddRestoreCommand(CLI::App& app, Context& ctx);
void AddCheckCommand(CLI::App& app, Context& ctx);
void AddKeyCommand(CLI::App& app, Context& ctx);
void AddForgetCommand(CLI::App& app, Context& ctx);
void AddPruneCommand(CLI::App& app, Context& ctx);
void AddAgentCommand(CLI::App& app, Context& ctx);
void AddRepairCommand(CLI::App& app, Context& ctx);

}  // namespace coffre::cli
