// VaultProcess: a real coffre-vault process for tests, on 127.0.0.1 and a
// port the system picks, with one tenant and an admin token, its data in a
// folder of its own. Tests reach it as any agent does, over HTTPS.
// The binary is the one CMake built (COFFRE_VAULT_BINARY). Thread-safety:
// the accessors may be called from many threads; Start and the destructor
// from one.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "tests/support/temp_dir.h"

namespace coffre::testing {

class VaultProcess {
 public:
  // Initialises a vault, adds `tenant` and an admin token, and serves it;
  // returns once it listens. Aborts the test (throws) if it cannot.
  // `toml_head`: top-level vault.toml keys ("max_list_page = 100\n"), put
  // before the file that init wrote.
  explicit VaultProcess(const std::string& tenant = "conformance",
                        const std::string& toml_head = "");
  ~VaultProcess();  // stops the vault (SIGTERM, then waits)
  VaultProcess(const VaultProcess&) = delete;
  VaultProcess& operator=(const VaultProcess&) = delete;

  // https://127.0.0.1:PORT
  const std::string& base_url() const { return base_url_; }
  const std::string& tenant() const { return tenant_; }
  const std::string& token() const { return token_; }
  // The vault's self-signed certificate, to trust.
  std::string ca_file() const { return dir_.Sub("ca.pem"); }
  // base_url()/TENANT/REPO
  std::string RepoUrl(const std::string& repo) const;

 private:
  TempDir dir_;
  std::string tenant_;
  std::string token_;
  std::string base_url_;
  pid_t pid_ = -1;
};

// One vault for the whole test binary, started on first use.
VaultProcess& SharedVault();

}  // namespace coffre::testing
