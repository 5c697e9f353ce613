// coffre-vault: the vault node's command line. Parses with CLI11 and hands
// each command to vault_commands; all the work happens in vault/.
#include <cstdlib>
#include <functional>
#include <iostream>

#include <CLI/CLI.hpp>

#include "vault/cli/held_commands.h"
#include "vault/cli/replicate_commands.h"
#include "vault/cli/vault_commands.h"

int main(int argc, char** argv) {
  using namespace coffre::vault::cli;
  CLI::App app{"coffre-vault: multi-tenant storage for coffre backups"};
  app.set_version_flag("--version", "coffre-vault 0.1.0");
  app.require_subcommand(1);
  app.fallthrough(true);
  std::string data;
  if (const char* env = std::getenv("COFFRE_VAULT_DATA")) data = env;
  app.add_option("--data", data, "the vault's data folder (or COFFRE_VAULT_DATA)");
  app.footer("Exit codes: 0 ok, 1 failure, 2 usage.");
  std::function<int()> run;

  std::vector<std::string> names;
  auto* init = app.add_subcommand("init", "create the data folder, config and TLS certificate");
  init->add_option("--name", names, "a host name or address the certificate is valid for");
  std::string postgres;
  init->add_option("--postgres", postgres,
                   "keep tenants, tokens, usage and audit in this PostgreSQL database, shared "
                   "by every node of a fleet (a libpq connection string)");
  init->callback([&] { run = [&] { return Init(data, names, postgres); }; });

  std::string name, quota, tenant, role, id, listen;
  auto* tenants = app.add_subcommand("tenant", "manage tenants")->require_subcommand(1);
  auto* tenant_add = tenants->add_subcommand("add", "add a tenant");
  tenant_add->add_option("name", name, "tenant name")->required();
  tenant_add->add_option("--quota", quota, "bytes it may store (e.g. 500GiB); default none");
  tenant_add->callback([&] { run = [&] { return TenantAdd(data, name, quota); }; });
  auto* tenant_quota = tenants->add_subcommand("quota", "change a tenant's quota (0: none)");
  tenant_quota->add_option("name", name, "tenant name")->required();
  tenant_quota->add_option("size", quota, "e.g. 1TiB, or 0")->required();
  tenant_quota->callback([&] { run = [&] { return TenantQuota(data, name, quota); }; });
  std::string locations;
  int copies = 1;
  auto* tenant_placement =
      tenants->add_subcommand("placement", "set where a tenant's data may be stored");
  tenant_placement->add_option("name", name, "tenant name")->required();
  tenant_placement
      ->add_option("locations", locations, "e.g. fr-par,fr-rbx; \"any\": no restriction")
      ->required();
  tenant_placement->add_option("--copies", copies, "copies it must have, one per location at most")
      ->capture_default_str();
  tenant_placement->callback(
      [&] { run = [&] { return TenantPlacement(data, name, locations, copies); }; });
  int hold_days = 0;
  auto* tenant_hold = tenants->add_subcommand(
      "hold", "keep what the tenant deletes, hidden, for DAYS before removing it (0: none)");
  tenant_hold->add_option("name", name, "tenant name")->required();
  tenant_hold->add_option("days", hold_days, "e.g. 14")->required();
  tenant_hold->callback([&] { run = [&] { return TenantHold(data, name, hold_days); }; });
  tenants->add_subcommand("list", "list tenants, quotas, usage, placement and hold")->callback([&] {
    run = [&] { return TenantList(data); };
  });

  auto* tokens = app.add_subcommand("token", "manage API tokens")->require_subcommand(1);
  auto* token_add = tokens->add_subcommand("add", "create a token; prints it alone on stdout");
  token_add->add_option("--tenant", tenant, "its tenant")->required();
  token_add->add_option("--role", role,
                        "backup, restore, maintain (backup and delete, only under a hold) "
                        "or admin")->required();
  std::string token_repo;
  token_add->add_option("--repo", token_repo,
                        "limit it to this one repository of the tenant (default: all of them)");
  token_add->callback([&] { run = [&] { return TokenAdd(data, tenant, role, token_repo); }; });
  auto* token_revoke = tokens->add_subcommand("revoke", "revoke a token for good");
  token_revoke->add_option("id", id, "token id (the 16 hex digits after cvt_)")->required();
  token_revoke->callback([&] { run = [&] { return TokenRevoke(data, id); }; });
  tokens->add_subcommand("list", "list tokens (ids, never secrets)")->callback([&] {
    run = [&] { return TokenList(data); };
  });

  auto* usage = app.add_subcommand("usage", "shared usage")->require_subcommand(1);
  usage->add_subcommand("recount", "count every tenant's bytes in the storage again (postgres)")
      ->callback([&] { run = [&] { return UsageRecount(data); }; });

  std::string held_since, held_repo;
  auto* held = app.add_subcommand("held", "what deletion holds keep")->require_subcommand(1);
  auto* held_list = held->add_subcommand("list", "list held objects by repository and day");
  held_list->add_option("--tenant", tenant, "only this tenant");
  held_list->callback([&] { run = [&] { return HeldList(data, tenant); }; });
  auto* held_restore =
      held->add_subcommand("restore", "put what was deleted back into its repository");
  held_restore->add_option("--tenant", tenant, "the tenant")->required();
  held_restore->add_option("--repo", held_repo, "the repository")->required();
  held_restore->add_option("--since", held_since,
                           "only what was deleted on this day (YYYY-MM-DD, UTC) or later");
  held_restore->callback(
      [&] { run = [&] { return HeldRestore(data, tenant, held_repo, held_since); }; });
  held->add_subcommand("purge", "remove for good what holds no longer keep")->callback([&] {
    run = [&] { return HeldPurge(data); };
  });

  ReplicateArgs rep;
  auto* replicate = app.add_subcommand("replicate", "send one tenant's new objects to a replica vault");
  replicate->add_option("--tenant", rep.tenant, "the tenant")->required();
  replicate->add_option("--to", rep.to, "the replica vault, https://HOST[:PORT]")->required();
  replicate->add_option("--token-file", rep.token_file, "an admin token of the tenant there")
      ->required();
  replicate->add_option("--cacert", rep.cacert, "PEM certificate to trust for the replica");
  replicate->add_option("--delete-delay", rep.delete_delay,
                        "how long an object deleted here waits before it goes there")
      ->capture_default_str();
  replicate->add_option("--limit-upload", rep.limit_upload, "bytes per second, e.g. 50MiB");
  replicate->callback([&] { run = [&] { return Replicate(data, rep); }; });
  auto* replication = app.add_subcommand("replication", "replication")->require_subcommand(1);
  bool status_json = false;
  auto* replication_status =
      replication->add_subcommand("status", "how far behind each tenant's replica is");
  replication_status->add_flag("--json", status_json, "as JSON");
  replication_status->callback(
      [&] { run = [&] { return ReplicationStatusCommand(data, status_json); }; });

  app.add_subcommand("cert", "print the TLS certificate (PEM) for agents' --cacert")
      ->callback([&] { run = [&] { return Cert(data); }; });
  auto* serve = app.add_subcommand("serve", "serve the API until SIGTERM");
  serve->add_option("--listen", listen, "HOST:PORT (port 0: any free port)");
  serve->callback([&] { run = [&] { return Serve(data, listen); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "coffre-vault: error: " << e.what() << " (see coffre-vault --help)" << std::endl;
    return 2;
  }
  if (data.empty()) {
    std::cerr << "coffre-vault: error: no data folder: give --data DIR or COFFRE_VAULT_DATA"
              << std::endl;
    return 2;
  }
  return run ? run() : 2;
}
