#include "cli/context.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string_view>

#include "agent/daemon/agent_config.h"
#include "agent/repo/open_backend.h"
#include "agent/util/exit_codes.h"
#include "agent/util/secret_file.h"
#include "cli/output/format.h"
#include "core/base/byte_size.h"

namespace coffre::cli {

namespace {

Result<std::string> ReadPasswordFile(const std::string& path) {
  return ReadSecretFile(path, "password");
}

// Reads one line from the terminal with echo off.
Result<std::string> Prompt(const std::string& text) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return Err(AuthFailedError("cannot open the terminal to ask for the passphrase"));
  (void)!write(fd, text.data(), text.size());
  termios old{};
  bool restore = tcgetattr(fd, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (restore) tcsetattr(fd, TCSAFLUSH, &old);
  (void)!write(fd, "\n", 1);
  close(fd);
  return line;
}

std::atomic<bool>* g_cancel = nullptr;

void OnSignal(int) {
  if (g_cancel->exchange(true)) _exit(kExitInterrupted);
}

}  // namespace

Result<std::string> Context::Passphrase(bool confirm, const std::string& prompt) {
  if (!global.password_file.empty()) return ReadPasswordFile(global.password_file);
  if (const char* file = std::getenv("COFFRE_PASSWORD_FILE"); file && *file)
    return ReadPasswordFile(file);
  if (const char* pass = std::getenv("COFFRE_PASSWORD"); pass && *pass) return std::string(pass);
  if (!isatty(STDIN_FILENO))
    return Err(AuthFailedError(
        "no passphrase: not on a terminal, so give --password-file, COFFRE_PASSWORD_FILE or "
        "COFFRE_PASSWORD"));
  ASSIGN_OR_RETURN(std::string first,
                   Prompt(prompt.empty() ? "passphrase for " + global.repo + ": " : prompt));
  if (first.empty()) return Err(AuthFailedError("empty passphrase"));
  if (confirm) {
    ASSIGN_OR_RETURN(std::string again, Prompt("enter it again: "));
    if (again != first) return Err(AuthFailedError("the passphrases do not match"));
  }
  return first;
}

Result<repo::BackendOptions> Context::BackendOptions() const {
  repo::BackendOptions options;
  options.ca_file = global.cacert;
  options.limit_upload = global.limit_upload;
  options.limit_download = global.limit_download;
  options.retry_for = std::chrono::seconds(global.retry_for_s);
  options.transfer = transfer;
  options.cache_dir = global.cache_dir;
  options.no_cache = global.no_cache;
  if (!global.quiet)
    options.warn = [](const std::string& line) { std::cerr << "coffre: warning: " << line << "\n"; };
  if (global.repo.rfind("https://", 0) != 0) return options;
  if (!global.token_file.empty()) {
    ASSIGN_OR_RETURN(options.token, ReadSecretFile(global.token_file, "token"));
  } else if (const char* file = std::getenv("COFFRE_TOKEN_FILE"); file && *file) {
    ASSIGN_OR_RETURN(options.token, ReadSecretFile(file, "token"));
  } else if (const char* token = std::getenv("COFFRE_TOKEN"); token && *token) {
    options.token = token;
  }
  return options;
}

Result<std::unique_ptr<repo::Repository>> Context::OpenRepository() {
  ASSIGN_OR_RETURN(repo::BackendOptions options, BackendOptions());
  ASSIGN_OR_RETURN(auto backend, repo::OpenBackend(global.repo, options));
  // A newer format or a folder that is no repository is said before any
  // passphrase is asked for.
  if (auto config = repo::Repository::ReadConfig(*backend); !config) return Err(config.error());
  ASSIGN_OR_RETURN(std::string passphrase, Passphrase());
  return repo::Repository::Open(std::move(backend), AsBytes(passphrase));
}

void Context::Warn(const std::string& line) const {
  if (!global.quiet) std::cerr << "coffre: warning: " << line << "\n";
}

void Context::WarnDamaged(const std::vector<repo::DamagedSnapshot>& damaged) const {
  for (const auto& d : damaged)
    Warn("skipped damaged snapshot " + d.id.Hex() + " (" + d.error.message() +
         "); `coffre forget " + d.id.Short() + "` removes it");
}

Status Context::ApplyPriority() const {
  if (global.nice) RETURN_IF_ERROR(SetCpuNice(*global.nice));
  if (global.ionice) RETURN_IF_ERROR(SetIoPriority(*global.ionice));
  return Status::Ok();
}

namespace {

// "10MiB" or "10MiB/s": a byte size per second.
Result<uint64_t> ParseRate(std::string_view text) {
  if (text.size() > 2 && text.substr(text.size() - 2) == "/s") text.remove_suffix(2);
  return ParseByteSize(text);
}

}  // namespace

namespace {

// Fills what the command line left empty from --job's job, then from the
// environment: the job wins over the environment, so a shell's leftover
// COFFRE_REPO never redirects `coffre --job nightly restore`.
Status ResolveGlobals(GlobalOptions& g, const std::map<std::string, bool>& given) {
  if (!g.job.empty()) {
    if (g.agent_config.empty()) {
      const char* env = std::getenv("COFFRE_AGENT_CONFIG");
      g.agent_config = env && *env ? env : "/etc/coffre/agent.conf";
    }
    ASSIGN_OR_RETURN(daemon::AgentConfig config, daemon::LoadAgentConfig(g.agent_config));
    const daemon::JobConfig* job = config.FindJob(g.job);
    if (!job)
      return InvalidArgumentError("no job named '" + g.job + "' in " + g.agent_config);
    auto take = [&](const char* option, std::string& field, const std::string& value) {
      if (!given.at(option) && !value.empty()) field = value;
    };
    take("repo", g.repo, job->repo);
    take("password-file", g.password_file, job->password_file);
    take("token-file", g.token_file, job->token_file);
    take("cacert", g.cacert, job->cacert);
  }
  auto env = [](std::string& field, const char* name) {
    if (!field.empty()) return;
    if (const char* value = std::getenv(name); value && *value) field = value;
  };
  env(g.repo, "COFFRE_REPO");
  env(g.cacert, "COFFRE_CACERT");
  return Status::Ok();
}

// An option taking a rate ("10MiB", "500kB/s") into `target`, in bytes
// per second; a rate that does not parse is a usage error naming it.
void AddRateOption(CLI::App& app, const std::string& name, uint64_t& target,
                   const std::string& help) {
  app.add_option_function<std::string>(
         name,
         [name, &target](const std::string& text) {
           auto rate = ParseRate(text);
           if (!rate) throw CLI::ValidationError(name, rate.error().message());
           target = *rate;
         },
         help)
      ->type_name("RATE");
}

}  // namespace

void AddGlobalOptions(CLI::App& app, Context& ctx) {
  GlobalOptions& g = ctx.global;
  CLI::Option* repo = app.add_option("-r,--repo", g.repo, "repository location (or COFFRE_REPO)");
  CLI::Option* password = app.add_option(
      "-p,--password-file", g.password_file,
      "file whose first line is the passphrase (or COFFRE_PASSWORD_FILE)");
  CLI::Option* token = app.add_option("--token-file", g.token_file,
                                      "file holding the vault's API token (or COFFRE_TOKEN_FILE, "
                                      "COFFRE_TOKEN)");
  CLI::Option* cacert =
      app.add_option("--cacert", g.cacert,
                     "PEM certificate to trust for the vault (or COFFRE_CACERT; coffre-vault cert "
                     "prints it)");
  app.add_option("--job", g.job,
                 "take --repo, --password-file, --token-file and --cacert from this job of the "
                 "agent's configuration (options given still win)")
      ->type_name("NAME");
  app.add_option("--agent-config", g.agent_config,
                 "the agent configuration --job reads (or COFFRE_AGENT_CONFIG; default "
                 "/etc/coffre/agent.conf)")
      ->type_name("FILE");
  app.add_option("--cache-dir", g.cache_dir,
                 "where a vault repository's metadata is cached (or COFFRE_CACHE_DIR; default "
                 "/var/cache/coffre for root, else ~/.cache/coffre)")
      ->type_name("DIR");
  app.add_flag("--no-cache", g.no_cache,
               "fetch every object from the vault, keep nothing locally");
  app.add_flag("--json", g.json, "machine-readable output on stdout");
  app.add_flag("-q,--quiet", g.quiet, "print errors only");
  app.add_flag("--progress", g.progress, "show progress even when not on a terminal");
  AddRateOption(app, "--limit-upload", g.limit_upload,
                "upload at most RATE bytes per second, e.g. 10MiB (0: no limit)");
  AddRateOption(app, "--limit-download", g.limit_download,
                "download at most RATE bytes per second, e.g. 10MiB (0: no limit)");
  app.add_option("--retry-for", g.retry_for_s,
                 "seconds a request keeps being retried while the vault does not answer "
                 "(or COFFRE_RETRY_FOR; default 300)")
      ->envname("COFFRE_RETRY_FOR")
      ->type_name("SECONDS")
      ->check(CLI::Range(0u, 86400u));
  app.add_option_function<int>(
         "--nice", [&ctx](const int& n) { ctx.global.nice = n; },
         "CPU priority of this run, -20..19 (19: yield the most)")
      ->type_name("N")
      ->check(CLI::Range(-20, 19));
  app.add_option_function<std::string>(
         "--ionice",
         [&ctx](const std::string& text) {
           auto priority = ParseIoPriority(text);
           if (!priority) throw CLI::ValidationError("--ionice", priority.error().message());
           ctx.global.ionice = *priority;
         },
         "I/O priority of this run: idle, best-effort[:0..7] or none")
      ->type_name("CLASS[:N]");
  // The main app's parse-complete callback runs after every option is read
  // (those given after the command too) and before the command's callback,
  // while the process has a single thread: one setting reaches all threads.
  app.parse_complete_callback([&ctx, repo, password, token, cacert] {
    const std::map<std::string, bool> given = {{"repo", repo->count() > 0},
                                               {"password-file", password->count() > 0},
                                               {"token-file", token->count() > 0},
                                               {"cacert", cacert->count() > 0}};
    Status status = ResolveGlobals(ctx.global, given);
    if (status.ok()) status = ctx.ApplyPriority();
    if (status.ok()) return;
    ctx.Fail(status);
    if (status.code() == ErrorCode::kInvalidArgument) ctx.exit_code = kExitUsage;
    throw CLI::RuntimeError(ctx.exit_code);
  });
}

namespace {
bool IsVaultRepo(const std::string& repo) { return repo.rfind("https://", 0) == 0; }
}  // namespace

std::string Context::TransferText() const {
  if (!IsVaultRepo(global.repo)) return "";
  return ", sent " + HumanBytes(transfer->sent_bytes) + ", received " +
         HumanBytes(transfer->received_bytes) + " in " + std::to_string(transfer->requests) +
         " requests";
}

void Context::AddTransferJson(nlohmann::ordered_json& json) const {
  if (!IsVaultRepo(global.repo)) return;
  json["transfer"] = {{"requests", transfer->requests.load()},
                      {"sent_bytes", transfer->sent_bytes.load()},
                      {"received_bytes", transfer->received_bytes.load()}};
}

bool Context::ShowProgress() const {
  if (global.quiet || global.json) return false;
  return global.progress || isatty(STDERR_FILENO);
}

void Context::Fail(const Status& status) {
  std::string message = status.message();
  for (char& c : message)
    if (c == '\n') c = ' ';  // one line, always
  std::cerr << "coffre: error: " << message << std::endl;
  SetExit(ExitCodeFor(status));
}

void Context::SetExit(int code) {
  if (exit_code == kExitOk || exit_code == kExitPartial) exit_code = code;
}

void InstallSignalHandlers(std::atomic<bool>* cancel) {
  g_cancel = cancel;
  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace coffre::cli
