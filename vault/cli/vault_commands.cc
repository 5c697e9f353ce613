#include "vault/cli/vault_commands.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/base/byte_size.h"
#include "core/base/clock.h"
#include "core/base/text_table.h"
#include "core/crypto/self_signed.h"
#include "vault/api/vault_server.h"
#include "vault/state/pg_schema.h"
#include "vault/state/pg_usage_ledger.h"
#include "vault/store/held_store.h"

namespace coffre::vault::cli {

namespace {

namespace fs = std::filesystem;

int Fail(const Status& s) {
  std::cerr << "coffre-vault: error: " << s.message() << std::endl;
  return 1;
}

std::string ConfigPath(const std::string& data) { return data + "/vault.toml"; }

// kNotFound unless `data` holds a vault (init wrote it).
Status CheckIsVault(const std::string& data) {
  if (fs::exists(ConfigPath(data)) || fs::exists(data + "/tenants.json")) return Status::Ok();
  return NotFoundError(data + " is not a vault (run coffre-vault --data " + data +
                       " init first)");
}

// The vault's tenants and tokens, wherever its [state] keeps them; the
// registry lives as long as the state (it may use the state's database).
Result<VaultState> OpenAdminState(const std::string& data) {
  RETURN_IF_ERROR(CheckIsVault(data));
  ASSIGN_OR_RETURN(VaultConfig config, LoadVaultConfig(data));
  return OpenVaultState(config, StateParts::kRegistry);
}

// A TOML basic string holding `text`.
std::string TomlString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Writes `content` to a new file `path` with `mode`; kAlreadyExists if taken.
Status WriteNewFile(const std::string& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(errno, "create " + path);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = ErrnoStatus(errno, "write " + path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  Status s = ::fsync(fd) == 0 ? Status::Ok() : ErrnoStatus(errno, "fsync " + path);
  ::close(fd);
  return s;
}

Result<uint64_t> QuotaOf(const std::string& text) {
  if (text.empty()) return uint64_t{0};
  return ParseByteSize(text);
}

}  // namespace

int Init(const std::string& data, const std::vector<std::string>& names,
         const std::string& postgres) {
  std::error_code ec;
  fs::create_directories(data, ec);
  if (ec) return Fail(ErrnoStatus(ec.value(), "create " + data));
  ::chmod(data.c_str(), 0700);
  if (fs::exists(ConfigPath(data)))
    return Fail(AlreadyExistsError(data + " is already a vault"));
  std::string toml = DefaultVaultToml();
  if (!postgres.empty()) {
    const std::string table = "\n[state]\n";
    toml.replace(toml.find(table), table.size(),
                 table + "type = \"postgres\"\nconninfo = " + TomlString(postgres) + "\n");
  }
  Status s = WriteNewFile(ConfigPath(data), toml, 0600);
  if (!s.ok()) return Fail(s);
  auto config = LoadVaultConfig(data);
  if (!config) return Fail(config.error());
  s = CreateVaultState(*config);
  if (!s.ok()) {
    fs::remove(ConfigPath(data), ec);  // so that init can be run again
    return Fail(s);
  }
  auto store = RepoStore::Open(*config);
  if (!store) return Fail(store.error());

  if (!fs::exists(config->tls_cert)) {
    std::vector<std::string> all = {"localhost", "127.0.0.1", "::1"};
    all.insert(all.end(), names.begin(), names.end());
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0 && host[0]) all.push_back(host);
    auto pem = crypto::MakeSelfSignedCertificate("coffre-vault", all);
    if (!pem) return Fail(pem.error());
    fs::create_directories(fs::path(config->tls_cert).parent_path(), ec);
    fs::create_directories(fs::path(config->tls_key).parent_path(), ec);
    s = WriteNewFile(config->tls_key, pem->private_key, 0600);
    if (s.ok()) s = WriteNewFile(config->tls_cert, pem->certificate, 0644);
    if (!s.ok()) return Fail(s);
  }
  std::cerr << "coffre-vault: initialized " << data << "; next: tenant add, token add, serve"
            << std::endl;
  return 0;
}

int TenantAdd(const std::string& data, const std::string& name, const std::string& quota) {
  auto bytes = QuotaOf(quota);
  if (!bytes) return Fail(bytes.error());
  auto state = OpenAdminState(data);
  if (!state) return Fail(state.error());
  Status s = state->registry->AddTenant(name, *bytes);
  return s.ok() ? 0 : Fail(s);
}

int TenantQuota(const std::string& data, const std::string& name, const std::string& quota) {
  auto bytes = QuotaOf(quota);
  if (!bytes) return Fail(bytes.error());
  auto state = OpenAdminState(data);
  if (!state) return Fail(state.error());
  Status s = state->registry->SetQuota(name, *bytes);
  return s.ok() ? 0 : Fail(s);
}

int TenantPlacement(const std::string& data, const std::string& name,
                    const std::string& locations, int copies) {
  auto placement = ParsePlacement(locations, copies);
  if (!placement) return Fail(placement.error());
  auto state = OpenAdminState(data);
  if (!state) return Fail(state.error());
  Status s = state->registry->SetPlacement(name, *placement);
  return s.ok() ? 0 : Fail(s);
}

int TenantHold(const std::string& data, const std::string& name, int days) {
  if (Status valid = ValidateHoldDays(days); !valid.ok()) return Fail(valid);
  auto state = OpenAdminState(data);
  if (!state) return Fail(state.error());
  Status s = state->registry->SetHold(name, days);
  return s.ok() ? 0 : Fail(s);
}

int TenantList(const std::string& data) {
  if (Status exists = CheckIsVault(data); !exists.ok()) return Fail(exists);
  auto config = LoadVaultConfig(data);
  if (!config) return Fail(config.error());
  auto store = RepoStore::Open(*config);
  if (!store) return Fail(store.error());
  auto state = OpenVaultState(*config, StateParts::kAll, store->get());
  if (!state) return Fail(state.error());
  auto usage = state->usage->All();
  if (!usage) return Fail(usage.error());
  TextTable table;
  table.AddRow({"TENANT", "STORED", "QUOTA", "USED", "PLACEMENT", "HOLD"});
  for (const Tenant& t : state->registry->Tenants()) {
    const uint64_t stored = (*usage)[t.name];
    std::string used = "-";
    if (t.quota_bytes) used = std::to_string(stored * 100 / t.quota_bytes) + "%";
    const std::string placement =
        t.placement.Describe() +
        (t.placement.copies > 1 ? " (" + std::to_string(t.placement.copies) + " copies)" : "");
    table.AddRow({t.name, FormatByteSize(stored),
                  t.quota_bytes ? FormatByteSize(t.quota_bytes) : "none", used, placement,
                  t.hold_days ? std::to_string(t.hold_days) + "d" : "none"});
  }
  std::cout << table.Render();
  return 0;
}

int TokenAdd(const std::string& data, const std::string& tenant, const std::string& role,
             const std::string& repo) {
  auto parsed = ParseRole(role);
  if (!parsed) return Fail(parsed.error());
  auto state = OpenAdminState(data);
  if (!state) return Fail(state.error());
  auto token = state->registry->AddToken(tenant, *parsed, repo);
  if (!token) return Fail(token.error());
  std::cout << *token << std::endl;
  return 0;
}

int TokenRevoke(const std::string& data, const std::string& id) {
  auto state = OpenAdminState(data);
  if (!state) return Fail(state.error());
  Status s = state->registry->RevokeToken(id);
  return s.ok() ? 0 : Fail(s);
}

int TokenList(const std::string& data) {
  auto state = OpenAdminState(data);
  if (!state) return Fail(state.error());
  TextTable table;
  table.AddRow({"ID", "TENANT", "REPO", "ROLE", "STATE"});
  for (const TokenInfo& t : state->registry->Tokens()) {
    table.AddRow({t.id, t.tenant, t.repo.empty() ? "*" : t.repo, RoleName(t.role),
                  t.revoked ? "revoked" : "active"});
  }
  std::cout << table.Render();
  return 0;
}

int Cert(const std::string& data) {
  auto config = LoadVaultConfig(data);
  if (!config) return Fail(config.error());
  std::ifstream in(config->tls_cert);
  if (!in) return Fail(NotFoundError("no certificate at " + config->tls_cert));
  std::stringstream pem;
  pem << in.rdbuf();
  std::cout << pem.str();
  return 0;
}

int UsageRecount(const std::string& data) {
  if (Status exists = CheckIsVault(data); !exists.ok()) return Fail(exists);
  auto config = LoadVaultConfig(data);
  if (!config) return Fail(config.error());
  if (config->state.type != StateConfig::Type::kPostgres) {
    std::cerr << "coffre-vault: nothing to do: with [state] type \"files\", usage is counted "
                 "at every start"
              << std::endl;
    return 0;
  }
  auto store = RepoStore::Open(*config);
  if (!store) return Fail(store.error());
  auto db = PgClient::Connect(config->state.conninfo, 1);
  if (!db) return Fail(db.error());
  Status s = EnsurePgSchema(**db);
  std::map<std::string, uint64_t> counted;
  if (s.ok()) {
    s = (*store)->Scan(
        [&](const std::string& tenant, uint64_t bytes) { counted[tenant] += bytes; });
  }
  if (s.ok()) s = PgUsageLedger(db->get()).Replace(counted);
  if (!s.ok()) return Fail(s);
  uint64_t total = 0;
  for (const auto& [tenant, bytes] : counted) total += bytes;
  std::cerr << "coffre-vault: counted " << FormatByteSize(total) << " for " << counted.size()
            << " tenant(s)" << std::endl;
  return 0;
}

int Serve(const std::string& data, const std::string& listen) {
  auto config = LoadVaultConfig(data);
  if (!config) return Fail(config.error());
  if (!listen.empty()) config->listen = listen;
  if (Status exists = CheckIsVault(data); !exists.ok()) return Fail(exists);
  auto store = RepoStore::Open(*config);
  if (!store) return Fail(store.error());
  // This process serves the store: what a crash left of uploads can go.
  Status cleaned = (*store)->RemoveTemporaries();
  if (!cleaned.ok()) return Fail(cleaned);
  auto state = OpenVaultState(*config, StateParts::kAll, store->get());
  if (!state) return Fail(state.error());
  Metrics metrics;
  auto server = VaultServer::Create(*config, &*state, store->get(), &metrics);
  if (!server) return Fail(server.error());

  // SIGTERM and SIGINT are taken by one thread, which stops the server: the
  // requests in progress finish, then Run returns.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client gone mid-response is an error, not a death

  auto port = (*server)->Bind();
  if (!port) return Fail(port.error());
  std::string host;
  int configured_port = 0;
  (void)ParseListen(config->listen, &host, &configured_port);
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig == SIGTERM || sig == SIGINT) (*server)->Stop();
  });
  // What deletion holds no longer keep goes for good, now and then.
  std::mutex purge_mu;
  std::condition_variable purge_wake;
  bool stopping = false;
  std::thread purger([&] {
    if (config->hold_purge_interval_s == 0) return;
    HeldStore held(store->get(), state->usage.get(), &metrics);
    std::unique_lock lock(purge_mu);
    while (!stopping) {
      lock.unlock();
      auto purged = held.PurgeAll(*state->registry, WallNs());
      if (!purged) {
        metrics.CountError("hold_purge");
        std::cerr << "coffre-vault: hold purge: " << purged.error().message() << std::endl;
      } else if (purged->objects > 0) {
        std::cerr << "coffre-vault: hold purge: removed " << purged->objects << " object(s), "
                  << FormatByteSize(purged->bytes) << ", whose hold has passed" << std::endl;
      }
      lock.lock();
      purge_wake.wait_for(lock, std::chrono::seconds(config->hold_purge_interval_s),
                          [&] { return stopping; });
    }
  });
  std::cerr << "storage: " << (*store)->Location() << std::endl;
  std::cerr << "state: " << state->location << std::endl;
  // One write, so that a script waiting for this line never reads half of it.
  const std::string ready = "listening on https://" + host + ":" + std::to_string(*port) + "\n";
  std::cerr << ready << std::flush;
  Status ran = (*server)->Run();
  // Run also returns on a server error: wake the stopper thread to end it.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  {
    std::lock_guard lock(purge_mu);
    stopping = true;
  }
  purge_wake.notify_all();
  purger.join();
  if (!ran.ok()) return Fail(ran);
  std::cerr << "coffre-vault: stopped" << std::endl;
  return 0;
}

}  // namespace coffre::vault::cli
