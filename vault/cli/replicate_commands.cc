#include "vault/cli/replicate_commands.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/base/byte_size.h"
#include "core/base/clock.h"
#include "core/base/duration.h"
#include "core/base/text_table.h"
#include "vault/config/vault_config.h"
#include "vault/replicate/replicator.h"
#include "vault/state/vault_state.h"

namespace coffre::vault::cli {
namespace {

int Fail(const Status& s) {
  std::cerr << "coffre-vault: error: " << s.message() << std::endl;
  return 1;
}

// "https://host:port" (no path) into host and port.
Status ParseTo(const std::string& to, std::string* host, int* port) {
  auto url = storage::vault::ParseVaultUrl(to + "/x/x");
  if (!url || to.find('/', 8) != std::string::npos)
    return InvalidArgumentError("--to must be https://HOST[:PORT], got '" + to + "'");
  *host = url->host;
  *port = url->port;
  return Status::Ok();
}

std::string Ago(int64_t since_ns) {
  if (since_ns == 0) return "never";
  return std::to_string((WallNs() - since_ns) / 1'000'000'000) + " s";
}

}  // namespace

int Replicate(const std::string& data, const ReplicateArgs& args) {
  auto config = LoadVaultConfig(data);
  if (!config) return Fail(config.error());
  ReplicateOptions options;
  if (Status s = ParseTo(args.to, &options.to_host, &options.to_port); !s.ok()) return Fail(s);
  std::ifstream token(args.token_file);
  if (!token || !std::getline(token, options.vault.token) || options.vault.token.empty())
    return Fail(InvalidArgumentError("cannot read a token from " + args.token_file));
  options.vault.ca_file = args.cacert;
  auto delay = ParseDuration(args.delete_delay);
  if (!delay) return Fail(delay.error());
  options.delete_delay_ns = static_cast<int64_t>(delay->count()) * 1'000'000'000;
  std::unique_ptr<RateLimiter> limit;
  if (!args.limit_upload.empty()) {
    auto rate = ParseByteSize(args.limit_upload);
    if (!rate) return Fail(rate.error());
    limit = std::make_unique<RateLimiter>(*rate);
    options.limit = limit.get();
  }
  options.status_path = ReplicationStatusPath(data, args.tenant, options.to_host, options.to_port);
  // One job per tenant at a time: two would each write the status of what
  // they saw, and forget the other's pending deletes. The lock goes with
  // the process, however it ends.
  std::error_code ec;
  std::filesystem::create_directories(data + "/replication", ec);
  const std::string lock_path =
      options.status_path.substr(0, options.status_path.size() - std::string(".json").size()) + ".lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return Fail(ErrnoStatus(errno, "open " + lock_path));
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
    return Fail(LockedError("another replicate of " + args.tenant + " to " + args.to +
                            " is running (" + lock_path + ")"));

  auto store = RepoStore::Open(*config);
  if (!store) return Fail(store.error());
  auto state = OpenVaultState(*config, StateParts::kAll, store->get());
  if (!state) return Fail(state.error());
  auto tenant = state->registry->FindTenant(args.tenant);
  if (!tenant) return Fail(tenant.error());
  auto done = vault::Replicate(**store, *tenant, *state->audit, options);
  if (!done) return Fail(done.error());
  std::cerr << "coffre-vault: replicated " << args.tenant << " to " << done->to << " ("
            << done->to_location << "): " << done->objects_sent << " object(s), "
            << FormatByteSize(done->bytes_sent) << " sent; " << done->pending_deletes.size()
            << " delete(s) waiting, " << done->deleted << " passed on" << std::endl;
  return 0;
}

int ReplicationStatusCommand(const std::string& data, bool json) {
  const auto all = ReadAllReplicationStatus(data);
  // Copies: this vault's, plus each replica that a pass has finished.
  std::map<std::string, int> made;
  for (const ReplicationStatus& s : all) made[s.tenant] += s.synced_as_of_ns != 0 ? 1 : 0;
  std::map<std::string, int> wanted;
  if (auto config = LoadVaultConfig(data)) {
    if (auto state = OpenVaultState(*config, StateParts::kRegistry)) {
      for (const Tenant& t : state->registry->Tenants()) wanted[t.name] = t.placement.copies;
    }
  }
  auto copies = [&](const std::string& tenant) { return 1 + made[tenant]; };
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const ReplicationStatus& s : all) {
      out.push_back({{"tenant", s.tenant},
                     {"to", s.to},
                     {"to_location", s.to_location},
                     {"objects_behind", s.objects_behind},
                     {"bytes_behind", s.bytes_behind},
                     {"objects_sent", s.objects_sent},
                     {"bytes_sent", s.bytes_sent},
                     {"seconds_behind",
                      s.synced_as_of_ns ? (WallNs() - s.synced_as_of_ns) / 1'000'000'000 : -1},
                     {"pending_deletes", s.pending_deletes.size()},
                     {"held", s.held.size()},
                     {"deleted", s.deleted},
                     {"copies_made", copies(s.tenant)},
                     {"copies_wanted", wanted.count(s.tenant) ? wanted[s.tenant] : 1},
                     {"last_error", s.last_error}});
    }
    std::cout << out.dump(2) << std::endl;
    return 0;
  }
  TextTable table;
  table.AddRow({"TENANT", "TO", "LOCATION", "BEHIND", "BYTES", "SYNCED", "DELETES", "COPIES",
                "ERROR"});
  for (const ReplicationStatus& s : all) {
    const int want = wanted.count(s.tenant) ? wanted[s.tenant] : 1;
    table.AddRow({s.tenant, s.to, s.to_location, std::to_string(s.objects_behind),
                  FormatByteSize(s.bytes_behind), Ago(s.synced_as_of_ns) + " ago",
                  std::to_string(s.pending_deletes.size()),
                  std::to_string(copies(s.tenant)) + "/" + std::to_string(want),
                  s.last_error.empty() ? "-" : s.last_error});
  }
  std::cout << table.Render();
  // A tenant that wants more copies than it has, replicated or not.
  for (const auto& [tenant, want] : wanted) {
    if (copies(tenant) < want)
      std::cout << tenant << ": " << copies(tenant) << " of " << want
                << " copies (run coffre-vault replicate to a vault of its placement)\n";
  }
  return 0;
}

}  // namespace coffre::vault::cli
