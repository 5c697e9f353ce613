#include "tests/support/vault_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

namespace coffre::testing {

namespace {

#ifndef COFFRE_VAULT_BINARY
#error "COFFRE_VAULT_BINARY must name the coffre-vault binary (tests/CMakeLists.txt)"
#endif

// Runs the vault's command line with `args`, its standard output to `out`
// and its errors to `err`; throws unless it exits 0.
void RunVault(const std::vector<std::string>& args, const std::string& out,
              const std::string& err) {
  std::string command = COFFRE_VAULT_BINARY;
  for (const std::string& arg : args) command += " '" + arg + "'";
  command += " >'" + out + "' 2>'" + err + "'";
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("coffre-vault failed: " + command + ": " + ReadFile(err));
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

VaultProcess::VaultProcess(const std::string& tenant, const std::string& toml_head)
    : tenant_(tenant) {
  const std::string data = dir_.Sub("data");
  const std::string log = dir_.Sub("serve.log");
  const std::string err = dir_.Sub("command.err");
  RunVault({"--data", data, "init"}, dir_.Sub("init.out"), err);
  if (!toml_head.empty()) {
    const std::string toml = data + "/vault.toml";
    WriteFile(toml, toml_head + ReadFile(toml));
  }
  RunVault({"--data", data, "tenant", "add", tenant}, dir_.Sub("tenant.out"), err);
  RunVault({"--data", data, "token", "add", "--tenant", tenant, "--role", "admin"},
           dir_.Sub("token"), err);
  token_ = Trimmed(ReadFile(dir_.Sub("token")));
  RunVault({"--data", data, "cert"}, ca_file(), err);

  WriteFile(log, "");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    FILE* log_file = std::freopen(log.c_str(), "w", stderr);
    if (!log_file) _exit(127);
    execl(COFFRE_VAULT_BINARY, COFFRE_VAULT_BINARY, "--data", data.c_str(), "serve", "--listen",
          "127.0.0.1:0", static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  const std::string kListening = "listening on ";
  while (true) {
    const std::string text = ReadFile(log);
    const size_t at = text.find(kListening);
    const size_t end = at == std::string::npos ? at : text.find('\n', at);
    if (end != std::string::npos) {
      base_url_ = text.substr(at + kListening.size(), end - at - kListening.size());
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("coffre-vault exited before listening: " + text);
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("coffre-vault not listening after 20 s: " + text);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

VaultProcess::~VaultProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
}

std::string VaultProcess::RepoUrl(const std::string& repo) const {
  return base_url_ + "/" + tenant_ + "/" + repo;
}

VaultProcess& SharedVault() {
  static VaultProcess vault;
  return vault;
}

}  // namespace coffre::testing
