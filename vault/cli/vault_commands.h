// The commands of coffre-vault, one function each; main.cc parses the
// command line (CLI11) and calls them. Each returns the process exit code:
// 0 done, 1 failed (one "coffre-vault: error:" line on stderr).
#pragma once

#include <string>
#include <vector>

namespace coffre::vault::cli {

// Creates DATA: vault.toml (commented defaults), tenants.json, repos/, and a
// self-signed certificate for `names` (plus localhost, 127.0.0.1, ::1) in
// tls/ unless the configured certificate exists.
int Init(const std::string& data, const std::vector<std::string>& names,
         const std::string& postgres);
int TenantAdd(const std::string& data, const std::string& name, const std::string& quota);
int TenantQuota(const std::string& data, const std::string& name, const std::string& quota);
// `tenant placement NAME LOCATIONS [--copies N]`: where its data may be.
int TenantPlacement(const std::string& data, const std::string& name,
                    const std::string& locations, int copies);
// Sets the tenant's deletion hold in days (0: none).
int TenantHold(const std::string& data, const std::string& name, int days);
int TenantList(const std::string& data);
// Prints the new token alone on stdout.
// `repo` "": the token reaches every repository of the tenant.
int TokenAdd(const std::string& data, const std::string& tenant, const std::string& role,
             const std::string& repo);
int TokenRevoke(const std::string& data, const std::string& id);
int TokenList(const std::string& data);
// Prints the server certificate (PEM) on stdout, for agents' --cacert.
int Cert(const std::string& data);
// Serves until SIGTERM or SIGINT; prints "listening on https://HOST:PORT"
// on stderr once ready. `listen` overrides the configuration when not empty.
// With [state] "postgres": counts every tenant's bytes in the storage and
// sets the shared usage to it (after a migration, or a node that died with
// uploads reserved). Run it when no backup is running.
int UsageRecount(const std::string& data);
int Serve(const std::string& data, const std::string& listen);

}  // namespace coffre::vault::cli
