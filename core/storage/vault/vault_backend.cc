#include "core/storage/vault/vault_backend.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/storage/http_headers.h"
#include "core/storage/http_pool.h"
#include "core/storage/http_status.h"
#include "core/storage/vault_name.h"

namespace coffre::storage::vault {

using storage::ObjectInfo;
using storage::ObjectKind;
using storage::ObjectName;

namespace {

// Names asked for in one listing request; the vault may answer fewer (its
// max_list_page) and says where the next page starts.
constexpr uint64_t kListPage = 10000;

// The vault's one-line reason, or the status alone.
std::string Reason(const httplib::Response& res) {
  std::string body = res.body.substr(0, 300);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return body.empty() ? "HTTP " + std::to_string(res.status) : body;
}

// A response that is not the success expected, as a Status: the code from
// the table the vault answers by (core/storage/http_status.h), the message
// from the vault's one-line reason. One departure: a 403 (this token may not
// do this here) is, for the agent, a credentials problem, reported as
// kAuthFailed so that it exits as one.
Status StatusOf(const httplib::Response& res, const std::string& what) {
  if (res.status == 401)
    return AuthFailedError(what + ": the vault refused the token (wrong, revoked or missing)");
  ErrorCode code = storage::ErrorCodeForHttp(res.status);
  if (code == ErrorCode::kPermissionDenied) code = ErrorCode::kAuthFailed;
  return Status(code, what + ": " + Reason(res));
}

}  // namespace

namespace {

std::string NodeUrl(const std::string& host, int port) {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "https://" + h + ":" + std::to_string(port);
}

}  // namespace

std::string VaultUrl::ToString() const {
  const std::string path = "/" + tenant + "/" + repo;
  if (nodes.size() <= 1) return NodeUrl(host, port) + path;
  std::string out;
  for (const Node& node : nodes) out += (out.empty() ? "" : ",") + NodeUrl(node.host, node.port) + path;
  return out;
}

namespace {

Result<VaultUrl> ParseOneVaultUrl(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Err(InvalidArgumentError("'" + url + "' is not a vault URL (" + why +
                                    "; expected https://HOST:PORT/TENANT/REPO)"));
  };
  constexpr std::string_view kScheme = "https://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return bad("not https");
  std::string_view rest(url);
  rest.remove_prefix(kScheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("no tenant and repository");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = rest.substr(slash + 1);
  VaultUrl out;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("bad port");
      port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("no host");
  if (!port.empty() || authority.find(':') != std::string_view::npos) {
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535)
      return bad("bad port");
    out.port = value;
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t middle = path.find('/');
  if (middle == std::string_view::npos) return bad("no repository name");
  out.tenant = std::string(path.substr(0, middle));
  out.repo = std::string(path.substr(middle + 1));
  for (Status valid : {storage::ValidateVaultName("tenant", out.tenant),
                       storage::ValidateVaultName("repository", out.repo)}) {
    if (!valid.ok()) return bad(valid.message());
  }
  out.nodes = {{out.host, out.port}};
  return out;
}

}  // namespace

Result<VaultUrl> ParseVaultUrl(const std::string& url) {
  VaultUrl out;
  size_t start = 0;
  while (true) {
    const size_t comma = url.find(',', start);
    const std::string one = url.substr(start, comma == std::string::npos ? comma : comma - start);
    ASSIGN_OR_RETURN(VaultUrl node, ParseOneVaultUrl(one));
    if (out.nodes.empty()) {
      out = node;
    } else if (node.tenant != out.tenant || node.repo != out.repo) {
      return Err(InvalidArgumentError("'" + url + "': the vault URLs of one repository must all "
                                      "name the same TENANT/REPO (" + out.tenant + "/" +
                                      out.repo + ", then " + node.tenant + "/" + node.repo + ")"));
    } else {
      out.nodes.push_back(node.nodes.front());
    }
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

namespace {

using ConnectionPool = storage::HttpPool<httplib::SSLClient>;

}  // namespace

class VaultBackend::Pool : public ConnectionPool {
 public:
  using ConnectionPool::ConnectionPool;
};

// A pooled connection for one request (storage/http_pool.h), and what its
// transport failures mean here.
class VaultBackend::Lease : public ConnectionPool::Lease {
 public:
  Lease(ConnectionPool::Lease&& lease, VaultBackend* owner, size_t node)
      : ConnectionPool::Lease(std::move(lease)), owner_(owner), node_(node) {}
  // The request failed before an answer: kUnavailable, or kAuthFailed for a
  // certificate that is not trusted. The connection is not reused, and with
  // several nodes the next requests go to the next one.
  Status Transport(const httplib::Result& res, const std::string& what) {
    MarkBroken();
    const httplib::Error err = res.error();
    if (err == httplib::Error::SSLServerVerification)
      return AuthFailedError(what + ": the vault's TLS certificate is not trusted (for a "
                                    "self-signed vault, give its certificate with --cacert)");
    const std::vector<VaultUrl::Node>& nodes = owner_->url_.nodes;
    std::string next;
    if (nodes.size() > 1) {
      const size_t to = (node_ + 1) % nodes.size();
      size_t expected = node_;  // another request may have moved on already
      owner_->current_.compare_exchange_strong(expected, to);
      next = "; going on through " + NodeUrl(nodes[to].host, nodes[to].port);
    }
    const std::string from =
        nodes.size() > 1 ? " " + NodeUrl(nodes[node_].host, nodes[node_].port) : "";
    return UnavailableError(what + ": no answer from the vault" + from + " (" +
                            httplib::to_string(err) + ")" + next);
  }

 private:
  VaultBackend* owner_;
  size_t node_;
};

namespace {

// A hand-made VaultUrl names its one node in host and port only.
VaultUrl WithNodes(VaultUrl url) {
  if (url.nodes.empty()) url.nodes = {{url.host, url.port}};
  return url;
}

}  // namespace

VaultBackend::VaultBackend(VaultUrl url, VaultOptions options)
    : url_(WithNodes(std::move(url))), options_(std::move(options)) {
  for (const VaultUrl::Node& node : url_.nodes) {
    pools_.push_back(std::make_unique<Pool>(
        [this, node] {
          auto client = std::make_unique<httplib::SSLClient>(node.host, node.port);
          if (!options_.ca_file.empty()) client->set_ca_cert_path(options_.ca_file.c_str());
          client->enable_server_certificate_verification(true);
          client->set_keep_alive(true);
          client->set_tcp_nodelay(true);  // no Nagle delay on small requests
          client->set_bearer_token_auth(options_.token.c_str());
          client->set_connection_timeout(options_.timeout_seconds, 0);
          client->set_read_timeout(options_.timeout_seconds, 0);
          client->set_write_timeout(options_.timeout_seconds, 0);
          return client;
        },
        options_.max_connections));
  }
}
VaultBackend::~VaultBackend() = default;

void VaultBackend::CountSent(uint64_t n) {
  if (options_.transfer) options_.transfer->sent_bytes += n;
}

void VaultBackend::CountReceived(uint64_t n) {
  if (options_.transfer) options_.transfer->received_bytes += n;
}

VaultBackend::Lease VaultBackend::Acquire() {
  // Each lease carries one request.
  if (options_.transfer) ++options_.transfer->requests;
  const size_t node = current_.load();
  return Lease(pools_[node]->Acquire(), this, node);
}

std::string VaultBackend::RepoPath() const { return "/v1/repos/" + url_.tenant + "/" + url_.repo; }

std::string VaultBackend::ObjectPath(const ObjectName& object) const {
  return RepoPath() + "/" + storage::ObjectKindName(object.kind) + "/" + object.name;
}

Result<std::unique_ptr<VaultBackend>> VaultBackend::Open(const VaultUrl& url,
                                                         const VaultOptions& options) {
  std::unique_ptr<VaultBackend> backend(new VaultBackend(url, options));
  const std::string what = url.ToString();
  // Each node in turn until one answers: a node that is down at the start
  // is no reason not to begin.
  for (size_t tried = 1;; ++tried) {
    auto lease = backend->Acquire();
    auto res = lease->Get(backend->RepoPath());
    if (!res) {
      Status failed = lease.Transport(res, what);
      if (failed.code() == ErrorCode::kUnavailable && tried < backend->pools_.size()) continue;
      return Err(failed);
    }
    if (res->status == 404) return Err(NotFoundError(what + " is not a coffre repository (the vault has none there)"));
    if (res->status != 200) return Err(StatusOf(*res, what));
    return backend;
  }
}

Result<std::string> VaultBackend::StorageLocation(const VaultUrl& url,
                                                  const VaultOptions& options) {
  VaultBackend backend(url, options);
  const std::string what = "https://" + url.host + ":" + std::to_string(url.port) + "/v1/health";
  auto lease = backend.Acquire();
  auto res = lease->Get("/v1/health");
  if (!res) return Err(lease.Transport(res, what));
  if (res->status != 200) return Err(StatusOf(*res, what));
  // {"location":"fr-par","status":"ok"}: one string field, read without a
  // JSON library (core has none); a name is [a-z0-9-] only.
  const std::string key = "\"location\":\"";
  const size_t at = res->body.find(key);
  if (at == std::string::npos) return std::string();
  const size_t start = at + key.size();
  const size_t end = res->body.find('"', start);
  if (end == std::string::npos) return Err(CorruptionError(what + ": a bad answer"));
  return res->body.substr(start, end - start);
}

Result<std::unique_ptr<VaultBackend>> VaultBackend::Create(const VaultUrl& url,
                                                           const VaultOptions& options) {
  std::unique_ptr<VaultBackend> backend(new VaultBackend(url, options));
  const std::string what = "create " + url.ToString();
  for (size_t tried = 1;; ++tried) {
    auto lease = backend->Acquire();
    auto res = lease->Post(backend->RepoPath(), std::string(), "text/plain");
    if (!res) {
      Status failed = lease.Transport(res, what);
      if (failed.code() == ErrorCode::kUnavailable && tried < backend->pools_.size()) continue;
      return Err(failed);
    }
    if (res->status == 409) return Err(AlreadyExistsError(url.ToString() + " already exists"));
    if (res->status != 201) return Err(StatusOf(*res, what));
    return backend;
  }
}

Status VaultBackend::Save(const ObjectName& object, ByteView data) {
  RETURN_IF_ERROR(storage::ValidateObject(object));
  const std::string what = "save " + object.ToString();
  auto lease = Acquire();
  // Sent straight from the caller's buffer: the plain Put would copy the
  // whole pack into the request first, with several uploads in flight.
  auto res = lease->Put(
      ObjectPath(object), data.size(),
      [this, data](size_t offset, size_t length, httplib::DataSink& sink) {
        constexpr size_t kPiece = 1 << 20;
        const size_t n = std::min(length, kPiece);
        if (!sink.write(reinterpret_cast<const char*>(data.data()) + offset, n)) return false;
        CountSent(n);
        return true;
      },
      "application/octet-stream");
  if (!res) return lease.Transport(res, what);
  if (res->status == 201) return Status::Ok();
  // The vault checked the bytes against the name and already had them.
  if (res->status == 200) return AlreadyExistsError(object.ToString() + " already exists");
  return StatusOf(*res, what);
}

Result<Bytes> VaultBackend::Load(const ObjectName& object, uint64_t offset, uint64_t length) {
  RETURN_IF_ERROR(storage::ValidateObject(object));
  const std::string what = "load " + object.ToString();
  auto past_end = [&](const std::string& size) {
    return Err(CorruptionError("object " + object.ToString() + ": range " +
                               std::to_string(offset) + "+" + std::to_string(length) +
                               " runs past its end" + (size.empty() ? "" : " (" + size + " bytes)")));
  };
  if (length > UINT64_MAX - offset) return past_end("");
  Bytes out;
  // Grown as bytes come: a length is a request, not yet a promise.
  if (length) out.reserve(std::min<uint64_t>(length, uint64_t{64} << 20));
  // A connection that breaks in the middle of the body is not a reason to
  // fetch what already came again: the rest is asked for with a Range from
  // where it stopped (objects never change), as long as each attempt brings
  // bytes. A break before any byte goes to the caller (RetryingBackend).
  int fruitless = 0;
  while (true) {
    const uint64_t from = offset + out.size();
    httplib::Headers headers;
    if (from != 0 || length != 0) {
      headers.emplace("Range", "bytes=" + std::to_string(from) + "-" +
                                   (length ? std::to_string(offset + length - 1) : ""));
    }
    const size_t before = out.size();
    int status = 0;
    std::string refusal;  // the body of an answer that is not the object
    bool short_range = false;  // the object ends before the range does
    auto lease = Acquire();
    auto res = lease->Get(
        ObjectPath(object), headers,
        [&](const httplib::Response& response) {
          status = response.status;
          // A range that runs past the end is cut short by the vault, as
          // HTTP says; the whole object's size ends the answer here.
          const std::optional<uint64_t> size = storage::ContentRangeTotal(response.get_header_value("Content-Range"));
          if (status == 206 && length != 0 && size && *size < offset + length) {
            short_range = true;
            refusal = std::to_string(*size);
            return false;
          }
          return true;
        },
        [&](const char* data, size_t n) {
          CountReceived(n);
          if (status == 200 || status == 206) {
            out.insert(out.end(), data, data + n);
          } else if (refusal.size() < 1000) {
            refusal.append(data, std::min<size_t>(n, 1000 - refusal.size()));
          }
          return true;
        });
    if (short_range) return past_end(refusal);
    if (!res) {
      const bool body_started = status == 200 || status == 206;
      if (body_started && out.size() > before) {
        fruitless = 0;
        continue;
      }
      if (body_started && before > 0 && ++fruitless < 3) continue;
      return Err(lease.Transport(res, what));
    }
    if (res->status == 416) {
      // Reading from the very end to the end is reading nothing.
      const std::optional<uint64_t> size = storage::ContentRangeTotal(res->get_header_value("Content-Range"));
      if (length == 0 && size && *size == from) break;
      return past_end(size ? std::to_string(*size) : "");
    }
    if (res->status != 200 && res->status != 206) {
      httplib::Response answer = *res;
      answer.body = refusal;
      return Err(StatusOf(answer, what));
    }
    // A resumed request must be answered with the part asked for.
    if (before > 0 && res->status != 206)
      return Err(UnavailableError(what + ": the vault ignored the range of a resumed read"));
    // A body that ended early without a transport error (the connection
    // closed cleanly) is a break too: ask for the rest while bytes come.
    if (length != 0 && out.size() < length && out.size() > before) continue;
    break;
  }
  if (length != 0 && out.size() != length) {
    return Err(CorruptionError(what + ": the vault sent " + std::to_string(out.size()) +
                               " bytes of the " + std::to_string(length) + " asked for"));
  }
  return out;
}

Result<uint64_t> VaultBackend::Stat(const ObjectName& object) {
  RETURN_IF_ERROR(storage::ValidateObject(object));
  const std::string what = "stat " + object.ToString();
  auto lease = Acquire();
  auto res = lease->Head(ObjectPath(object));
  if (!res) return Err(lease.Transport(res, what));
  if (res->status != 200) {
    if (res->status == 404) return Err(NotFoundError(object.ToString() + " does not exist"));
    return Err(StatusOf(*res, what));
  }
  const auto size = storage::ParseDecimal(res->get_header_value("Content-Length"));
  if (!size) return Err(UnavailableError(what + ": the vault sent no size"));
  return *size;
}

Status VaultBackend::Remove(const ObjectName& object) {
  RETURN_IF_ERROR(storage::ValidateObject(object));
  const std::string what = "remove " + object.ToString();
  auto lease = Acquire();
  auto res = lease->Delete(ObjectPath(object));
  if (!res) return lease.Transport(res, what);
  if (res->status == 204 || res->status == 200) return Status::Ok();
  return StatusOf(*res, what);
}

Status VaultBackend::List(ObjectKind kind, const std::function<Status(const ObjectInfo&)>& fn) {
  RETURN_IF_ERROR(storage::ValidateObjectKind(kind));
  const std::string what = std::string("list ") + storage::ObjectKindName(kind);
  const std::string path = RepoPath() + "/" + storage::ObjectKindName(kind) + "/";
  // Every page is read before `fn` sees a name: a page that fails is then
  // retried with the whole listing, and `fn` never sees a name twice.
  std::vector<ObjectInfo> all;
  std::string after;
  auto lease = Acquire();
  for (;;) {
    std::string target = path + "?limit=" + std::to_string(kListPage);
    if (!after.empty()) target += "&after=" + after;
    auto res = lease->Get(target);
    if (!res) return lease.Transport(res, what);
    CountReceived(res->body.size());
    if (res->status != 200) return StatusOf(*res, what);
    auto listing = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (!listing.is_array()) return UnavailableError(what + ": the vault sent a malformed listing");
    for (const auto& entry : listing) {
      if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
          !entry.contains("size") || !entry["size"].is_number_unsigned())
        return UnavailableError(what + ": the vault sent a malformed listing");
      ObjectInfo info{entry["name"].get<std::string>(), entry["size"].get<uint64_t>()};
      if (!storage::ValidateObjectName(info.name).ok()) continue;
      all.push_back(std::move(info));
    }
    const std::string next = res->get_header_value("Coffre-List-Next-After");
    if (next.empty()) break;
    // Pages go forward by name; one that does not would never end.
    if (next <= after || !storage::ValidateObjectName(next).ok())
      return UnavailableError(what + ": the vault sent a malformed listing");
    after = next;
  }
  for (const ObjectInfo& info : all) RETURN_IF_ERROR(fn(info));
  return Status::Ok();
}

}  // namespace coffre::storage::vault
