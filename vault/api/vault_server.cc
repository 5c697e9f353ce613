#include "vault/api/vault_server.h"

#include <httplib.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <optional>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/base/clock.h"
#include "core/storage/http_headers.h"
#include "core/storage/http_status.h"
#include "vault/api/auth_limiter.h"
#include "vault/api/guarded_server.h"
#include "vault/api/request_auth.h"
#include "vault/api/request_parse.h"
#include "vault/replicate/replication_status.h"
#include "vault/store/object_service.h"

namespace coffre::vault {

namespace {

using httplib::Request;
using httplib::Response;
using storage::ObjectKind;
using storage::ObjectName;

constexpr char kRepoPattern[] = R"(^/v1/repos/([^/]+)/([^/]+)$)";
constexpr char kListPattern[] = R"(^/v1/repos/([^/]+)/([^/]+)/([^/]+)/$)";
constexpr char kObjectPattern[] = R"(^/v1/repos/([^/]+)/([^/]+)/([^/]+)/([^/]+)$)";
// Objects are read from storage and sent in pieces of this size.
constexpr uint64_t kSendPiece = 1 << 20;

// Whether a body follows the headers (a chunked one, or a Content-Length
// other than 0).
bool HasBody(const Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  const std::string length = req.get_header_value("Content-Length");
  return !length.empty() && length != "0";
}

bool IsLoopback(const std::string& addr) {
  return addr == "127.0.0.1" || addr == "::1" || addr.rfind("::ffff:127.", 0) == 0;
}

}  // namespace

struct VaultServer::Impl {
  VaultConfig config;
  Registry* registry;
  UsageLedger* usage;
  RepoStore* store;
  std::unique_ptr<ObjectService> objects;
  Metrics* metrics;
  AuditLog* audit;
  std::unique_ptr<TlsContext> tls;
  std::unique_ptr<GuardedServer> server;
  std::unique_ptr<AuthFailureLimiter> auth_limiter;
  std::string host;
  int port = 0;

  void Fail(Response& res, int status, const std::string& message, const char* kind) {
    res.status = status;
    res.set_content(message + "\n", "text/plain");
    metrics->CountError(kind);
  }
  void Fail(Response& res, const Status& s) {
    const storage::HttpError error = storage::HttpErrorFor(s.code());
    Fail(res, error.status, s.message(), error.kind);
  }
  void Audit(const Principal& who, const char* action, const std::string& repo,
             const std::string& object, int status) {
    Status s = audit->Record({who.tenant, who.token_id, action, repo, object, status});
    if (!s.ok()) metrics->CountError("audit");
  }

  // At most one line every 10 s: a database that is down would otherwise
  // write one per request.
  void LogStateError(const Status& s) {
    const int64_t now = MonotonicNs();
    int64_t last = last_state_log_ns.load();
    if (now - last < 10'000'000'000 || !last_state_log_ns.compare_exchange_strong(last, now))
      return;
    std::cerr << "coffre-vault: " << s.message() << std::endl;
  }
  std::atomic<int64_t> last_state_log_ns{-10'000'000'000};

  // The caller's principal if it may do `need` in `tenant`; else the
  // response is filled (401 or 403) and nullopt returned.
  // A refused write or delete (`action` set) is recorded in the audit log
  // too, under the tenant of the path.
  // The tenant and repository are those of the path.
  std::optional<Principal> Authorize(const Request& req, Response& res, Need need,
                                     const char* action = nullptr) {
    // A failed re-read keeps the tokens known, unless it has failed so long
    // that a revoked one might pass.
    const std::string tenant = req.matches[1];
    std::optional<Result<Principal>> who;
    if (const int64_t wait = auth_limiter->RefusalSeconds(req.remote_addr, tenant); wait > 0) {
      // Too many failures: the token is not even checked, so guessing costs
      // the guesser time and the vault nothing.
      res.set_header("Retry-After", std::to_string(wait));
      Fail(res, 429, "too many failed authentications; try again in " + std::to_string(wait) + " s",
           "auth_limited");
    } else if (Status fresh = registry->Refresh(); fresh.code() == ErrorCode::kUnavailable) {
      // The reason (a database's address) is for the operator, not for
      // whoever sent the request.
      LogStateError(fresh);
      Fail(res, 503, "the vault cannot check tokens now; try again", "state");
    } else {
      who = Authenticate(*registry, req.get_header_value("Authorization"));
      // Only a maintain token's delete depends on the tenant's hold.
      bool held = false;
      if (*who && need == Need::kDelete && (*who)->role == Role::kMaintain) {
        auto found = registry->FindTenant(tenant);
        held = found && found->hold_days > 0;
      }
      Status allowed = *who ? CheckAccess(**who, tenant, req.matches[2], need, held) : who->error();
      if (allowed.ok()) return **who;
      if (!*who) {
        auth_limiter->CountFailure(req.remote_addr, tenant);
        res.set_header("WWW-Authenticate", "Bearer");
        Fail(res, 401, allowed.message(), "auth");
      } else {
        Fail(res, 403, allowed.message(), "forbidden");
      }
    }
    if (action) {
      Principal refused{tenant, Role::kRestore, who && *who ? (*who)->token_id : ""};
      const std::string object =
          req.matches.size() > 4 ? req.matches[3].str() + "/" + req.matches[4].str() : "";
      Audit(refused, action, req.matches[2], object, res.status);
    }
    return std::nullopt;
  }

  // The repository of a matched path, or nullptr with the response filled.
  storage::Backend* RepoOf(const Request& req, Response& res) {
    auto backend = objects->Repo(req.matches[1], req.matches[2]);
    if (!backend) {
      Fail(res, backend.error());
      return nullptr;
    }
    return *backend;
  }

  std::optional<ObjectName> ObjectOf(const Request& req, Response& res) {
    auto kind = storage::ParseObjectKind(req.matches[3].str());
    if (!kind) {
      Fail(res, 400, kind.error().message(), "bad_request");
      return std::nullopt;
    }
    ObjectName object{*kind, req.matches.size() > 4 ? req.matches[4].str() : ""};
    if (req.matches.size() > 4) {
      Status valid = storage::ValidateObject(object);
      if (!valid.ok()) {
        Fail(res, 400, valid.message(), "bad_request");
        return std::nullopt;
      }
    }
    return object;
  }

  // What a request on one object (or one kind, for a listing) names, once
  // the caller may do `need` there; else nullopt with the response filled.
  struct Target {
    Principal who;
    std::string repo;
    storage::Backend* backend;
    ObjectName object;
  };
  std::optional<Target> Resolve(const Request& req, Response& res, Need need,
                                const char* action = nullptr) {
    auto who = Authorize(req, res, need, action);
    if (!who) return std::nullopt;
    storage::Backend* backend = RepoOf(req, res);
    if (!backend) return std::nullopt;
    auto object = ObjectOf(req, res);
    if (!object) return std::nullopt;
    return Target{std::move(*who), req.matches[2], backend, std::move(*object)};
  }

  // The body size a PUT announces, or nullopt with the response filled
  // (411 without Content-Length, 413 past max_object_size).
  std::optional<uint64_t> BodySize(const Request& req, Response& res) {
    const std::optional<uint64_t> length =
        storage::ParseDecimal(req.get_header_value("Content-Length"));
    if (!length) {
      Fail(res, 411, "Content-Length is required", "bad_request");
    } else if (*length > config.max_object_bytes) {
      Fail(res, 413, "object larger than " + std::to_string(config.max_object_bytes) + " bytes",
           "bad_request");
    } else {
      return length;
    }
    return std::nullopt;
  }
  // For "Expect: 100-continue": true, with the response filled, if the
  // request would be refused before its body is read.
  bool ExpectRefused(const Request& req, Response& res);
  void Routes();
  void CreateRepo(const Request& req, Response& res);
  void HeadRepo(const Request& req, Response& res);
  void List(const Request& req, Response& res);
  void Get(const Request& req, Response& res);
  using BodyReader = std::function<bool(httplib::ContentReceiver)>;
  void Put(const Request& req, Response& res, const BodyReader& reader);
  void Delete(const Request& req, Response& res);
  void ServeMetrics(const Request& req, Response& res);
};

void VaultServer::Impl::Routes() {
  // Every target is read once, by the pure parser, before any route, token
  // or file: a malformed one is answered 400 here, so the regular
  // expressions below only ever see valid names (and no '%', so cpp-httplib's
  // decoded path is the raw one).
  server->set_pre_routing_handler([this](const Request& req, Response& res) {
    auto target = ParseRequestTarget(req.target);
    if (!target) {
      Fail(res, target.error());
    } else if (HasBody(req) && !(req.method == "PUT" &&
                                 target->route == RequestTarget::Route::kObject)) {
      // cpp-httplib would read such a body whole into memory before its
      // handler; only an object's PUT streams one.
      Fail(res, 400, "this request takes no body", "bad_request");
    } else {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    // Whatever body it has is left unread.
    if (HasBody(req)) GuardedServer::CloseAfterResponse(res);
    return httplib::Server::HandlerResponse::Handled;
  });
  // A client that sends "Expect: 100-continue" waits for "100 Continue"
  // before its body: a PUT the vault would refuse from its headers gets
  // that refusal instead, and never sends a byte of its body.
  server->set_expect_100_continue_handler([this](const Request& req, Response& res) {
    if (ExpectRefused(req, res)) {
      GuardedServer::CloseAfterResponse(res);
      return res.status;
    }
    return 100;
  });
  server->Get("/v1/health", [this](const Request&, Response& res) {
    // The location tells a replicating vault where this one stores
    // (docs/sovereignty.md); it names no tenant.
    nlohmann::json health = {{"status", "ok"}, {"location", config.location}};
    res.set_content(health.dump() + "\n", "application/json");
  });
  server->Get("/metrics", [this](const Request& req, Response& res) { ServeMetrics(req, res); });
  server->Post(kRepoPattern, [this](const Request& req, Response& res) { CreateRepo(req, res); });
  server->Get(kRepoPattern, [this](const Request& req, Response& res) { HeadRepo(req, res); });
  server->Get(kListPattern, [this](const Request& req, Response& res) { List(req, res); });
  server->Get(kObjectPattern, [this](const Request& req, Response& res) { Get(req, res); });
  server->Put(kObjectPattern,
              [this](const Request& req, Response& res, const httplib::ContentReader& reader) {
                bool consumed = false;
                BodyReader read = [&](httplib::ContentReceiver receiver) {
                  consumed = true;
                  return reader(std::move(receiver));
                };
                Put(req, res, read);
                // Refused before its body was read (a token that may not
                // write, a size or a quota): the body is never read, and
                // the connection closes once the answer is out, or the next
                // request on it would be parsed from inside the body.
                if (!consumed) GuardedServer::CloseAfterResponse(res);
              });
  server->Delete(kObjectPattern, [this](const Request& req, Response& res) { Delete(req, res); });
  server->set_logger([this](const Request& req, const Response& res) {
    metrics->CountRequest(req.method, res.status);
  });
}

bool VaultServer::Impl::ExpectRefused(const Request& req, Response& res) {
  auto target = ParseRequestTarget(req.target);
  if (!target) {
    Fail(res, target.error());
    return true;
  }
  // Any other request with a body is refused by the pre-routing handler,
  // which never reads that body.
  if (req.method != "PUT" || target->route != RequestTarget::Route::kObject) return false;
  // Routing has not run yet: match the path as the PUT route will.
  static const std::regex kObject(kObjectPattern);
  Request probe = req;
  if (!std::regex_match(probe.path, probe.matches, kObject)) return false;
  auto checked = Resolve(probe, res, Need::kCreate, "put");
  if (!checked) return true;
  const std::optional<uint64_t> length = BodySize(req, res);
  if (length) {
    Status s = objects->CheckPut(checked->who.tenant, checked->repo, checked->object, *length);
    if (s.ok()) return false;
    Fail(res, s);
  }
  Audit(checked->who, "put", checked->repo, checked->object.ToString(), res.status);
  return true;
}

void VaultServer::Impl::CreateRepo(const Request& req, Response& res) {
  auto who = Authorize(req, res, Need::kCreate, "create_repo");
  if (!who) return;
  const std::string repo = req.matches[2];
  Status s = objects->CreateRepo(who->tenant, repo);
  if (!s.ok()) {
    Fail(res, s);
  } else {
    res.status = 201;
  }
  Audit(*who, "create_repo", repo, "", res.status);
}

void VaultServer::Impl::HeadRepo(const Request& req, Response& res) {
  if (!Authorize(req, res, Need::kRead)) return;
  if (!RepoOf(req, res)) return;
  res.set_content("{}\n", "application/json");
}

void VaultServer::Impl::List(const Request& req, Response& res) {
  auto target = Resolve(req, res, Need::kRead);
  if (!target) return;
  auto query = ParseRequestTarget(req.target);  // the pre-routing handler accepted it
  if (!query) return Fail(res, query.error());
  // One page: the `limit` smallest names after `after`, kept in a max-heap
  // of at most limit + 1 (the one past the page only says there is more),
  // so memory follows the page, never the repository.
  const uint64_t page = config.max_list_page;
  const bool paged = query->list_limit != 0;
  const uint64_t limit = paged ? std::min<uint64_t>(query->list_limit, page) : page;
  auto by_name = [](const storage::ObjectInfo& a, const storage::ObjectInfo& b) {
    return a.name < b.name;
  };
  std::vector<storage::ObjectInfo> heap;
  Status s = target->backend->List(target->object.kind, [&](const storage::ObjectInfo& info) {
    if (info.name <= query->list_after) return Status::Ok();
    if (heap.size() <= limit) {
      heap.push_back(info);
      std::push_heap(heap.begin(), heap.end(), by_name);
    } else if (info.name < heap.front().name) {
      std::pop_heap(heap.begin(), heap.end(), by_name);
      heap.back() = info;
      std::push_heap(heap.begin(), heap.end(), by_name);
    }
    return Status::Ok();
  });
  if (!s.ok()) return Fail(res, s);
  std::sort_heap(heap.begin(), heap.end(), by_name);
  if (heap.size() > limit) {
    if (!paged) {
      // A client that does not page would take a cut listing for the whole
      // one (and a prune or a check would act on it): refuse instead.
      return Fail(res, 400,
                  "more than " + std::to_string(page) +
                      " objects of this kind: list with ?limit= (an agent older than the "
                      "vault's paging must be upgraded)",
                  "bad_request");
    }
    heap.pop_back();
    res.set_header("Coffre-List-Next-After", heap.back().name);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const storage::ObjectInfo& info : heap) out.push_back({{"name", info.name}, {"size", info.size}});
  res.set_content(out.dump() + "\n", "application/json");
}

void VaultServer::Impl::Get(const Request& req, Response& res) {
  auto target = Resolve(req, res, Need::kRead);
  if (!target) return;
  storage::Backend* backend = target->backend;
  const ObjectName* object = &target->object;
  auto size = backend->Stat(*object);
  if (!size) return Fail(res, size.error());
  if (req.has_header("Range") && !ParseRangeHeader(req.get_header_value("Range"), *size)) {
    res.set_header("Content-Range", "bytes */" + std::to_string(*size));
    return Fail(res, 416, "range outside the object", "bad_request");
  }
  res.set_header("Accept-Ranges", "bytes");
  if (*size == 0) {  // no provider for nothing: the size must still be said
    res.set_content("", "application/octet-stream");
    return;
  }
  // cpp-httplib serves the requested range of this full-length provider
  // (206 and Content-Range), and only the headers for HEAD.
  res.set_content_provider(
      *size, "application/octet-stream",
      [this, backend, name = *object](size_t offset, size_t length, httplib::DataSink& sink) {
        while (length > 0) {
          const uint64_t n = std::min<uint64_t>(length, kSendPiece);
          auto piece = backend->Load(name, offset, n);
          if (!piece) {
            metrics->CountError("storage");
            return false;
          }
          if (!sink.write(reinterpret_cast<const char*>(piece->data()), piece->size()))
            return false;
          metrics->AddBytesSent(n);
          offset += n;
          length -= n;
        }
        return true;
      });
}

void VaultServer::Impl::Put(const Request& req, Response& res, const BodyReader& reader) {
  auto target = Resolve(req, res, Need::kCreate, "put");
  if (!target) return;
  const std::string& tenant = target->who.tenant;
  const std::optional<uint64_t> length = BodySize(req, res);
  if (length) {
    const uint64_t size = *length;
    uint64_t received = 0;
    auto stored = objects->Put(
        tenant, target->repo, target->object, size,
        [&](const std::function<bool(ByteView)>& sink) {
          return reader([&](const char* data, size_t n) {
            received += n;
            return sink(ByteView(reinterpret_cast<const uint8_t*>(data), n));
          });
        });
    metrics->AddBytesReceived(received);
    if (stored) {
      res.status = *stored == ObjectService::PutOutcome::kCreated ? 201 : 200;
    } else {
      Fail(res, stored.error());
    }
  }
  Audit(target->who, "put", target->repo, target->object.ToString(), res.status);
}

void VaultServer::Impl::Delete(const Request& req, Response& res) {
  const bool lock = req.matches.size() > 3 && req.matches[3].str() == "locks";
  auto target = Resolve(req, res, lock ? Need::kDeleteLock : Need::kDelete, "delete");
  if (!target) return;
  Status s = objects->Delete(target->who.tenant, target->repo, target->object, WallNs());
  if (s.ok()) {
    res.status = 204;
  } else {
    Fail(res, s);
  }
  Audit(target->who, "delete", target->repo, target->object.ToString(), res.status);
}

void VaultServer::Impl::ServeMetrics(const Request& req, Response& res) {
  const bool token_ok = !config.metrics_token.empty() &&
                        req.get_header_value("Authorization") == "Bearer " + config.metrics_token;
  if (!token_ok && !IsLoopback(req.remote_addr)) {
    return Fail(res, 403, "metrics are served to loopback or with the metrics token", "forbidden");
  }
  auto all = usage->All();
  if (!all) return Fail(res, all.error());
  std::map<std::string, uint64_t>& stored = *all;
  std::vector<vault::Metrics::TenantUsage> rows;
  for (const Tenant& t : registry->Tenants()) rows.push_back({t.name, stored[t.name], t.quota_bytes});
  std::string text = metrics->Render(rows);
  // Replication lag, as the replicate jobs of this data folder last wrote it.
  const auto replicas = ReadAllReplicationStatus(config.data_dir);
  if (!replicas.empty()) {
    std::string objects, bytes, seconds, deletes;
    for (const ReplicationStatus& r : replicas) {
      const std::string labels = "{tenant=\"" + r.tenant + "\",to=\"" + r.to + "\"}";
      objects += "coffre_vault_replication_behind_objects" + labels + " " +
                 std::to_string(r.objects_behind) + "\n";
      bytes += "coffre_vault_replication_behind_bytes" + labels + " " +
               std::to_string(r.bytes_behind) + "\n";
      const int64_t behind = (WallNs() - (r.synced_as_of_ns ? r.synced_as_of_ns : r.pass_started_ns)) /
                             1'000'000'000;
      seconds += "coffre_vault_replication_behind_seconds" + labels + " " +
                 std::to_string(behind) + "\n";
      deletes += "coffre_vault_replication_pending_deletes" + labels + " " +
                 std::to_string(r.pending_deletes.size()) + "\n";
    }
    text += "# HELP coffre_vault_replication_behind_objects Objects the replica lacks.\n"
            "# TYPE coffre_vault_replication_behind_objects gauge\n" + objects +
            "# HELP coffre_vault_replication_behind_bytes Bytes the replica lacks.\n"
            "# TYPE coffre_vault_replication_behind_bytes gauge\n" + bytes +
            "# HELP coffre_vault_replication_behind_seconds Age of the newest state the replica surely has.\n"
            "# TYPE coffre_vault_replication_behind_seconds gauge\n" + seconds +
            "# HELP coffre_vault_replication_pending_deletes Deletes waiting for their delay.\n"
            "# TYPE coffre_vault_replication_pending_deletes gauge\n" + deletes;
  }
  res.set_content(text, "text/plain; version=0.0.4");
}

VaultServer::VaultServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VaultServer::~VaultServer() = default;

Result<std::unique_ptr<VaultServer>> VaultServer::Create(const VaultConfig& config,
                                                         VaultState* state, RepoStore* store,
                                                         Metrics* metrics) {
  if (!state->usage || !state->audit)
    return Err(InternalError("VaultServer: the state is opened without usage or audit"));
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->registry = state->registry.get();
  impl->usage = state->usage.get();
  impl->store = store;
  impl->objects =
      std::make_unique<ObjectService>(store, impl->registry, impl->usage, metrics, config.location);
  impl->metrics = metrics;
  impl->audit = state->audit.get();
  AuthFailureLimiter::Limits auth_limits;
  auth_limits.per_address = config.auth_failures_per_address;
  auth_limits.per_tenant = config.auth_failures_per_tenant;
  auth_limits.window_ns = config.auth_failure_window_s * 1'000'000'000;
  impl->auth_limiter = std::make_unique<AuthFailureLimiter>(auth_limits);
  RETURN_IF_ERROR(ParseListen(config.listen, &impl->host, &impl->port));
  ASSIGN_OR_RETURN(impl->tls, TlsContext::Load(config.tls_cert, config.tls_key));
  ConnectionLimits limits;
  limits.min_threads = std::max(1, config.threads);
  limits.max_connections = config.max_connections;
  limits.handshake_timeout_ms = config.handshake_timeout_s * 1000;
  limits.header_timeout_ms = config.header_timeout_s * 1000;
  limits.body_timeout_ms = config.body_timeout_s * 1000;
  limits.idle_timeout_ms = config.idle_timeout_s * 1000;
  limits.io_timeout_ms = config.io_timeout_s * 1000;
  limits.max_header_bytes = config.max_header_bytes;
  limits.max_header_lines = static_cast<size_t>(config.max_headers);
  // TCP_NODELAY is set on every connection: small answers (a HEAD, a 4 KiB
  // blob) must not wait for Nagle's algorithm to meet the client's delayed
  // ACK, which cost ~40 ms a request.
  impl->server = std::make_unique<GuardedServer>(
      impl->tls.get(), limits, [m = metrics](const char* reason) { m->CountCut(reason); });
  impl->server->set_payload_max_length(config.max_object_bytes);
  impl->server->set_keep_alive_max_count(100000);
  impl->Routes();
  return std::unique_ptr<VaultServer>(new VaultServer(std::move(impl)));
}

Result<int> VaultServer::Bind() {
  Impl& i = *impl_;
  if (i.port == 0) {
    i.port = i.server->bind_to_any_port(i.host);
    if (i.port < 0) return Err(UnavailableError("cannot listen on " + i.host));
  } else if (!i.server->bind_to_port(i.host, i.port)) {
    return Err(UnavailableError("cannot listen on " + i.config.listen));
  }
  i.server->WidenBacklog(std::max(128, i.config.max_connections));
  return i.port;
}

Status VaultServer::Run() {
  if (!impl_->server->listen_after_bind()) return IoError("the server stopped on an error");
  return Status::Ok();
}

void VaultServer::Stop() { impl_->server->stop(); }

}  // namespace coffre::vault
