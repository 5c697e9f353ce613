#include "vault/cli/held_commands.h"

#include <algorithm>
#include <iostream>

#include "core/base/byte_size.h"
#include "core/base/clock.h"
#include "core/base/text_table.h"
#include "vault/config/vault_config.h"
#include "vault/state/vault_state.h"
#include "vault/store/held_store.h"

namespace coffre::vault::cli {
namespace {

int Fail(const Status& s) {
  std::cerr << "coffre-vault: error: " << s.message() << std::endl;
  return 1;
}

// What every held command works on: the storage, and the tenants and usage.
struct Opened {
  std::unique_ptr<RepoStore> store;
  VaultState state;
  VaultConfig config;
};

Result<Opened> Open(const std::string& data) {
  ASSIGN_OR_RETURN(VaultConfig config, LoadVaultConfig(data));
  ASSIGN_OR_RETURN(std::unique_ptr<RepoStore> store, RepoStore::Open(config));
  ASSIGN_OR_RETURN(VaultState state, OpenVaultState(config, StateParts::kAll, store.get()));
  return Opened{std::move(store), std::move(state), std::move(config)};
}

// With "files", a serving node counted usage at its start and keeps it in
// its memory: what a command here gives back, it sees only when restarted.
void NoteNodeUsage(const Opened& opened) {
  if (opened.config.state.type == StateConfig::Type::kFiles)
    std::cerr << "coffre-vault: note: a running `serve` counts these bytes again when it "
                 "restarts ([state] type \"files\")"
              << std::endl;
}

// "2026-12-05" or "20261205" as "20261205"; "" stays "".
Result<std::string> ParseDay(const std::string& text) {
  std::string day = text;
  if (day.size() == 10 && day[4] == '-' && day[7] == '-') day.erase(std::remove(day.begin(), day.end(), '-'), day.end());
  if (day.empty() || !PurgeDay(day, 0).empty()) return day;
  return Err(InvalidArgumentError("bad day '" + text + "' (expected YYYY-MM-DD)"));
}

// "20261205" as "2026-12-05".
std::string ShowDay(const std::string& day) {
  return day.substr(0, 4) + "-" + day.substr(4, 2) + "-" + day.substr(6, 2);
}

}  // namespace

int HeldList(const std::string& data, const std::string& tenant) {
  auto opened = Open(data);
  if (!opened) return Fail(opened.error());
  if (!tenant.empty() && !opened->state.registry->FindTenant(tenant))
    return Fail(NotFoundError("no tenant '" + tenant + "'"));
  HeldStore held(opened->store.get(), opened->state.usage.get());
  TextTable table;
  table.AddRow({"TENANT", "REPOSITORY", "DELETED", "OBJECTS", "SIZE", "REMOVED FROM"});
  for (const Tenant& t : opened->state.registry->Tenants()) {
    if (!tenant.empty() && t.name != tenant) continue;
    auto areas = held.List(t.name);
    if (!areas) return Fail(areas.error());
    for (const HeldArea& a : *areas) {
      table.AddRow({t.name, a.repo, ShowDay(a.day), std::to_string(a.objects),
                    FormatByteSize(a.bytes), ShowDay(PurgeDay(a.day, t.hold_days))});
    }
  }
  std::cout << table.Render();
  return 0;
}

int HeldRestore(const std::string& data, const std::string& tenant, const std::string& repo,
                const std::string& since) {
  auto day = ParseDay(since);
  if (!day) return Fail(day.error());
  auto opened = Open(data);
  if (!opened) return Fail(opened.error());
  if (!opened->state.registry->FindTenant(tenant))
    return Fail(NotFoundError("no tenant '" + tenant + "'"));
  HeldStore held(opened->store.get(), opened->state.usage.get());
  auto moved = held.Restore(tenant, repo, *day);
  if (!moved) return Fail(moved.error());
  std::cerr << "coffre-vault: restored " << moved->objects << " object(s), "
            << FormatByteSize(moved->bytes) << ", into " << tenant << "/" << repo << std::endl;
  NoteNodeUsage(*opened);
  return 0;
}

int HeldPurge(const std::string& data) {
  auto opened = Open(data);
  if (!opened) return Fail(opened.error());
  HeldStore held(opened->store.get(), opened->state.usage.get());
  auto purged = held.PurgeAll(*opened->state.registry, WallNs());
  if (!purged) return Fail(purged.error());
  std::cerr << "coffre-vault: removed " << purged->objects << " held object(s), "
            << FormatByteSize(purged->bytes) << ", whose hold has passed" << std::endl;
  NoteNodeUsage(*opened);
  return 0;
}

}  // namespace coffre::vault::cli
