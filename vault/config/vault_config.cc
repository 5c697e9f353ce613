#include "vault/config/vault_config.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <toml.hpp>
#include <vector>

#include "core/base/byte_size.h"
#include "core/base/duration.h"
#include "vault/tenant/registry.h"

namespace coffre::vault {
namespace {

// toml11 reports everything by exception; every call into it stays inside
// this file, and LoadVaultConfig turns what escapes into a Status.

std::string ResolvePath(const std::string& data_dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return data_dir + "/" + path;
}

std::string Where(const std::string& file, const toml::value& v, const std::string& key) {
  return file + " line " + std::to_string(v.location().line()) + ": " + key;
}

Status RequireString(const std::string& where, const toml::value& v, std::string* out) {
  if (!v.is_string()) return InvalidArgumentError(where + " must be a string");
  *out = v.as_string().str;
  return Status::Ok();
}

Status RequirePath(const std::string& where, const toml::value& v, const std::string& data_dir,
                   std::string* out) {
  std::string path;
  RETURN_IF_ERROR(RequireString(where, v, &path));
  if (path.empty()) return InvalidArgumentError(where + " must not be empty");
  *out = ResolvePath(data_dir, path);
  return Status::Ok();
}

// A path that may be empty (meaning: none).
Status OptionalPath(const std::string& where, const toml::value& v, const std::string& data_dir,
                    std::string* out) {
  RETURN_IF_ERROR(RequireString(where, v, out));
  if (!out->empty()) *out = ResolvePath(data_dir, *out);
  return Status::Ok();
}

// A duration such as "10s" or "15m", or a number of seconds, from `min_s`
// to `max_s` seconds.
Status RequireDuration(const std::string& where, const toml::value& v, int64_t min_s,
                       int64_t max_s, int64_t* out_s) {
  int64_t seconds = -1;
  if (v.is_integer()) {
    seconds = v.as_integer();
  } else if (v.is_string()) {
    auto parsed = ParseDuration(v.as_string().str);
    if (parsed) seconds = parsed->count();
  }
  if (seconds < min_s || seconds > max_s) {
    return InvalidArgumentError(where + " must be a duration such as \"10s\" or \"15m\" from " +
                                std::to_string(min_s) + " to " + std::to_string(max_s) +
                                " seconds");
  }
  *out_s = seconds;
  return Status::Ok();
}

// An integer from `min` to `max`.
Status RequireInt(const std::string& where, const toml::value& v, int64_t min, int64_t max,
                  int* out) {
  if (!v.is_integer() || v.as_integer() < min || v.as_integer() > max) {
    return InvalidArgumentError(where + " must be an integer from " + std::to_string(min) +
                                " to " + std::to_string(max));
  }
  *out = static_cast<int>(v.as_integer());
  return Status::Ok();
}

// One key of [storage] into `config`; kInvalidArgument naming it otherwise.
Status ApplyStorageKey(const std::string& file, const std::string& key, const toml::value& v,
                       VaultConfig* config) {
  const std::string where = Where(file, v, "storage." + key);
  StorageConfig& storage = config->storage;
  if (key == "type") {
    std::string type;
    RETURN_IF_ERROR(RequireString(where, v, &type));
    if (type == "local") {
      storage.type = StorageConfig::Type::kLocal;
    } else if (type == "s3") {
      storage.type = StorageConfig::Type::kS3;
    } else {
      return InvalidArgumentError(where + " must be \"local\" or \"s3\"");
    }
  } else if (key == "endpoint") {
    RETURN_IF_ERROR(RequireString(where, v, &storage.endpoint));
  } else if (key == "region") {
    RETURN_IF_ERROR(RequireString(where, v, &storage.region));
  } else if (key == "bucket") {
    RETURN_IF_ERROR(RequireString(where, v, &storage.bucket));
  } else if (key == "prefix") {
    RETURN_IF_ERROR(RequireString(where, v, &storage.prefix));
  } else if (key == "virtual_hosted") {
    if (!v.is_boolean()) return InvalidArgumentError(where + " must be true or false");
    storage.virtual_hosted = v.as_boolean();
  } else if (key == "ca_file") {
    RETURN_IF_ERROR(OptionalPath(where, v, config->data_dir, &storage.ca_file));
  } else if (key == "credentials_file") {
    RETURN_IF_ERROR(OptionalPath(where, v, config->data_dir, &storage.credentials_file));
  } else if (key == "access_key") {
    RETURN_IF_ERROR(RequireString(where, v, &storage.access_key));
  } else if (key == "secret_key") {
    RETURN_IF_ERROR(RequireString(where, v, &storage.secret_key));
  } else {
    return InvalidArgumentError(where + " is not a known key of [storage] (see docs/vault.md)");
  }
  return Status::Ok();
}

// One key of [state] into `config`; kInvalidArgument naming it otherwise.
Status ApplyStateKey(const std::string& file, const std::string& key, const toml::value& v,
                     VaultConfig* config) {
  const std::string where = Where(file, v, "state." + key);
  StateConfig& state = config->state;
  if (key == "type") {
    std::string type;
    RETURN_IF_ERROR(RequireString(where, v, &type));
    if (type == "files") {
      state.type = StateConfig::Type::kFiles;
    } else if (type == "postgres") {
      state.type = StateConfig::Type::kPostgres;
    } else {
      return InvalidArgumentError(where + " must be \"files\" or \"postgres\"");
    }
  } else if (key == "conninfo") {
    RETURN_IF_ERROR(RequireString(where, v, &state.conninfo));
  } else if (key == "connections") {
    if (!v.is_integer() || v.as_integer() < 1 || v.as_integer() > 256) {
      return InvalidArgumentError(where + " must be an integer from 1 to 256");
    }
    state.connections = static_cast<int>(v.as_integer());
  } else {
    return InvalidArgumentError(where + " is not a known key of [state] (see docs/vault.md)");
  }
  return Status::Ok();
}

// The keys of table `name` in sorted order (so the first error reported
// does not depend on hash order), each applied by `apply`.
Status ApplyTable(const std::string& file, const std::string& name, const toml::value& v,
                  VaultConfig* config,
                  Status (*apply)(const std::string&, const std::string&, const toml::value&,
                                  VaultConfig*)) {
  if (!v.is_table())
    return InvalidArgumentError(Where(file, v, name) + " must be a table: [" + name + "]");
  std::vector<std::string> keys;
  for (const auto& [key, value] : v.as_table()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) RETURN_IF_ERROR(apply(file, key, v.as_table().at(key), config));
  return Status::Ok();
}

// One key of the file into `config`; kInvalidArgument naming it otherwise.
Status ApplyKey(const std::string& file, const std::string& key, const toml::value& v,
                VaultConfig* config) {
  const std::string where = Where(file, v, key);
  if (key == "listen") {
    std::string host;
    int port;
    RETURN_IF_ERROR(RequireString(where, v, &config->listen));
    Status s = ParseListen(config->listen, &host, &port);
    if (!s.ok()) return InvalidArgumentError(Where(file, v, "") + s.message());
  } else if (key == "tls_cert") {
    RETURN_IF_ERROR(RequirePath(where, v, config->data_dir, &config->tls_cert));
  } else if (key == "tls_key") {
    RETURN_IF_ERROR(RequirePath(where, v, config->data_dir, &config->tls_key));
  } else if (key == "audit_log") {
    RETURN_IF_ERROR(RequirePath(where, v, config->data_dir, &config->audit_log));
  } else if (key == "max_object_size") {
    uint64_t bytes = 0;
    if (v.is_integer() && v.as_integer() > 0) {
      bytes = static_cast<uint64_t>(v.as_integer());
    } else if (v.is_string()) {
      bytes = ParseByteSize(v.as_string().str).value_or(0);
    }
    if (bytes == 0) {
      return InvalidArgumentError(where +
                                  " must be a positive size such as \"256MiB\" or a number "
                                  "of bytes (units: B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)");
    }
    config->max_object_bytes = bytes;
  } else if (key == "threads") {
    if (!v.is_integer() || v.as_integer() < 1 || v.as_integer() > 1024) {
      return InvalidArgumentError(where + " must be an integer from 1 to 1024");
    }
    config->threads = static_cast<int>(v.as_integer());
  } else if (key == "max_connections") {
    RETURN_IF_ERROR(RequireInt(where, v, 1, 100000, &config->max_connections));
  } else if (key == "handshake_timeout") {
    RETURN_IF_ERROR(RequireDuration(where, v, 1, 3600, &config->handshake_timeout_s));
  } else if (key == "header_timeout") {
    RETURN_IF_ERROR(RequireDuration(where, v, 1, 3600, &config->header_timeout_s));
  } else if (key == "body_timeout") {
    RETURN_IF_ERROR(RequireDuration(where, v, 1, 7 * 86400, &config->body_timeout_s));
  } else if (key == "idle_timeout") {
    RETURN_IF_ERROR(RequireDuration(where, v, 1, 3600, &config->idle_timeout_s));
  } else if (key == "io_timeout") {
    RETURN_IF_ERROR(RequireDuration(where, v, 1, 3600, &config->io_timeout_s));
  } else if (key == "max_header_size") {
    uint64_t bytes = 0;
    if (v.is_integer() && v.as_integer() > 0) {
      bytes = static_cast<uint64_t>(v.as_integer());
    } else if (v.is_string()) {
      bytes = ParseByteSize(v.as_string().str).value_or(0);
    }
    if (bytes < 1024 || bytes > (16u << 20)) {
      return InvalidArgumentError(where + " must be a size from \"1KiB\" to \"16MiB\"");
    }
    config->max_header_bytes = bytes;
  } else if (key == "max_headers") {
    RETURN_IF_ERROR(RequireInt(where, v, 1, 10000, &config->max_headers));
  } else if (key == "max_list_page") {
    int n = 0;
    RETURN_IF_ERROR(RequireInt(where, v, 100, 1000000, &n));
    config->max_list_page = static_cast<uint64_t>(n);
  } else if (key == "auth_failures_per_address") {
    RETURN_IF_ERROR(RequireInt(where, v, 0, 1000000, &config->auth_failures_per_address));
  } else if (key == "auth_failures_per_tenant") {
    RETURN_IF_ERROR(RequireInt(where, v, 0, 1000000, &config->auth_failures_per_tenant));
  } else if (key == "auth_failure_window") {
    RETURN_IF_ERROR(RequireDuration(where, v, 1, 86400, &config->auth_failure_window_s));
  } else if (key == "hold_purge_interval") {
    RETURN_IF_ERROR(RequireDuration(where, v, 0, 7 * 86400, &config->hold_purge_interval_s));
  } else if (key == "metrics_token") {
    RETURN_IF_ERROR(RequireString(where, v, &config->metrics_token));
  } else if (key == "node_name") {
    RETURN_IF_ERROR(RequireString(where, v, &config->node_name));
  } else if (key == "location") {
    RETURN_IF_ERROR(RequireString(where, v, &config->location));
    // "" is the default: no location declared.
    Status valid = config->location.empty() ? Status::Ok() : ValidateLocation(config->location);
    if (!valid.ok())
      return InvalidArgumentError(where + ": " + valid.message());
  } else if (key == "storage") {
    RETURN_IF_ERROR(ApplyTable(file, key, v, config, ApplyStorageKey));
  } else if (key == "state") {
    RETURN_IF_ERROR(ApplyTable(file, key, v, config, ApplyStateKey));
  } else {
    return InvalidArgumentError(where + " is not a known key (see docs/vault.md)");
  }
  return Status::Ok();
}

// toml11's message spans several lines with a caret under the fault; the
// vault's errors are one line (logs, exit messages), so keep its first line
// and the line number.
std::string SyntaxErrorLine(const std::string& file, const toml::syntax_error& e) {
  std::string what = e.what();
  what = what.substr(0, what.find('\n'));
  if (what.rfind("[error] ", 0) == 0) what = what.substr(8);
  const auto line = e.location().line();
  return file + (line != 0 ? " line " + std::to_string(line) : std::string()) +
         ": not valid TOML: " + what;
}

Result<VaultConfig> Parse(const std::string& file, std::istream& in, VaultConfig config) {
  toml::value root;
  try {
    root = toml::parse(in, file);
  } catch (const toml::syntax_error& e) {
    return Err(CorruptionError(SyntaxErrorLine(file, e)));
  }
  if (!root.is_table()) return Err(CorruptionError(file + ": not a TOML table"));
  // Sorted, so the first error reported does not depend on hash order.
  std::vector<std::string> keys;
  for (const auto& [key, value] : root.as_table()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    Status s = ApplyKey(file, key, root.as_table().at(key), &config);
    if (!s.ok()) return Err(s);
  }
  return config;
}

}  // namespace

Result<VaultConfig> LoadVaultConfig(const std::string& data_dir) {
  VaultConfig config;
  config.data_dir = data_dir;
  config.tls_cert = data_dir + "/tls/cert.pem";
  config.tls_key = data_dir + "/tls/key.pem";
  config.audit_log = data_dir + "/audit.log";

  const std::string file = data_dir + "/vault.toml";
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) return config;
    return Err(ErrnoStatus(errno, "stat " + file));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Err(IoError("cannot read " + file));
  try {
    ASSIGN_OR_RETURN(VaultConfig parsed, Parse(file, in, config));
    if (parsed.state.type == StateConfig::Type::kPostgres && parsed.state.conninfo.empty())
      return Err(InvalidArgumentError(file + ": [state] type \"postgres\" needs conninfo"));
    return parsed;
  } catch (const std::exception& e) {
    return Err(InvalidArgumentError(file + ": " + e.what()));
  } catch (...) {
    return Err(InternalError(file + ": unknown error while reading the configuration"));
  }
}

std::string NodeName(const VaultConfig& config) {
  if (!config.node_name.empty()) return config.node_name;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0 && host[0]) return host;
  return "vault";
}

Result<std::pair<std::string, std::string>> S3Credentials(const StorageConfig& storage) {
  if (!storage.access_key.empty() && !storage.secret_key.empty())
    return std::make_pair(storage.access_key, storage.secret_key);
  constexpr std::string_view kAccess = "COFFRE_S3_ACCESS_KEY=";
  constexpr std::string_view kSecret = "COFFRE_S3_SECRET_KEY=";
  if (!storage.credentials_file.empty()) {
    std::ifstream in(storage.credentials_file);
    if (!in) {
      return Err(InvalidArgumentError("cannot read the S3 credentials file " +
                                      storage.credentials_file));
    }
    std::string access, secret;
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.rfind(kAccess, 0) == 0) access = line.substr(kAccess.size());
      if (line.rfind(kSecret, 0) == 0) secret = line.substr(kSecret.size());
    }
    if (access.empty() || secret.empty()) {
      return Err(InvalidArgumentError("the S3 credentials file " + storage.credentials_file +
                                      " needs a COFFRE_S3_ACCESS_KEY=... and a "
                                      "COFFRE_S3_SECRET_KEY=... line"));
    }
    return std::make_pair(access, secret);
  }
  const char* access = std::getenv("COFFRE_S3_ACCESS_KEY");
  const char* secret = std::getenv("COFFRE_S3_SECRET_KEY");
  if (access && *access && secret && *secret) return std::make_pair(access, secret);
  return Err(InvalidArgumentError(
      "no S3 credentials: set credentials_file (or access_key and secret_key) in [storage] of "
      "vault.toml, or COFFRE_S3_ACCESS_KEY and COFFRE_S3_SECRET_KEY in the environment"));
}

Status ParseListen(const std::string& listen, std::string* host, int* port) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("listen address '" + listen + "' " + why +
                                " (expected HOST:PORT, e.g. 127.0.0.1:8443 or [::1]:8443)");
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return bad("has no port");
  std::string h = listen.substr(0, colon);
  const std::string p = listen.substr(colon + 1);
  if (!h.empty() && h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return bad("has an unclosed '['");
    h = h.substr(1, h.size() - 2);
    struct in6_addr addr6;
    if (inet_pton(AF_INET6, h.c_str(), &addr6) != 1) return bad("has a bad IPv6 address");
  } else {
    // A name or an IPv4 address; a bare IPv6 address is ambiguous with the
    // port separator, so it must come in brackets.
    auto ok_char = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '-';
    };
    if (h.empty() || !std::all_of(h.begin(), h.end(), ok_char)) return bad("has a bad host");
  }
  if (p.empty() || p.size() > 5 ||
      !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("has a bad port");
  }
  int n = std::stoi(p);
  if (n > 65535) return bad("has a port above 65535");
  *host = h;
  *port = n;
  return Status::Ok();
}

// Keep in sync by hand with the example in docs/vault.md (the same text):
// the test "the default vault.toml parses and yields the defaults"
// uncomments every key here and checks it changes nothing.
std::string DefaultVaultToml() {
  return R"(# coffre-vault configuration.
# Every key is optional: each one below is commented out and shows its
# default. Relative paths are relative to the vault's data folder.
# Command-line options override this file.

# Address to serve HTTPS on, HOST:PORT. "0.0.0.0:8443" or "[::]:8443" for
# every interface; port 0 picks a free port.
#listen = "127.0.0.1:8443"

# TLS certificate chain and private key, PEM. `coffre-vault init` writes a
# self-signed pair there; replace them with your own to use another.
#tls_cert = "tls/cert.pem"
#tls_key = "tls/key.pem"

# Append-only log of every write and delete, accepted or refused: one JSON
# object per line.
#audit_log = "audit.log"

# Largest object one PUT may store: a number of bytes, or a size with a unit
# (B, KiB, MiB, GiB, TiB). Larger uploads get 413 before any byte is stored.
#max_object_size = "256MiB"

# Worker threads kept ready. More are started on demand, one for each
# open connection, up to max_connections.
#threads = 32

# Connections open at once, at most; one more is closed as soon as it is
# accepted (counted in /metrics as too_many_connections).
#max_connections = 1024

# Deadlines, each for a whole phase (not per read), as a duration ("10s",
# "15m") or a number of seconds. A client past one is cut. handshake:
# from the TCP accept to the end of the TLS handshake; header: from a
# request's first byte to its last header line; body: one request's whole
# body (the default lets 256 MiB through at 300 kB/s); idle: how long a
# kept-alive connection may wait for its next request; io: how long one read
# or write may make no progress (this bounds the writing of answers).
#handshake_timeout = "10s"
#header_timeout = "10s"
#body_timeout = "15m"
#idle_timeout = "5s"
#io_timeout = "60s"

# The request line and headers of one request, together, at most (larger:
# 400 and the connection closed), and at most this many header lines.
#max_header_size = "64KiB"
#max_headers = 100

# Names one listing request answers, at most: a client pages through more
# with ?limit= and ?after= (docs/vault-api.md, "Listings").
#max_list_page = 10000

# Failed authentications (a missing, unknown or revoked token) allowed from
# one client address, and on one tenant's paths, per auth_failure_window;
# each allowance refills steadily over the window. Past it, requests get 429
# with Retry-After before their token is checked: from that address, or on
# that tenant's paths from an address that has failed (a tenant's agents
# that never failed keep working). Counted in /metrics as auth_limited.
# 0 turns a limit off. Behind a TCP proxy every client has the proxy's
# address: turn the per-address limit off there (docs/vault.md).
#auth_failures_per_address = 20
#auth_failures_per_tenant = 100
#auth_failure_window = "1m"

# How often serve removes for good what a tenant's deletion hold no longer
# keeps (docs/vault.md, "Deletion hold"). 0: never; then run
# `coffre-vault held purge` from cron. In a fleet, one node is enough.
#hold_purge_interval = "1h"

# A secret that lets a client outside the loopback interface read /metrics
# (sent as "Authorization: Bearer ..."). Empty: loopback clients only.
#metrics_token = ""

# This node's name in the shared audit trail; empty: the host's name.
#node_name = ""

# Where this node stores, e.g. "fr-par": a tenant whose placement does not
# name it is refused here, and no replica of one is sent here. Empty: no
# location, so only tenants without a placement are served.
#location = ""

# Where the repositories are stored. "local": folders under repos/ in the
# data folder. "s3": one bucket of an S3 server (Ceph RADOS Gateway, or a
# provider's S3), which every vault node of a fleet can share.
[storage]
#type = "local"
# For "s3": the server, e.g. "http://127.0.0.1:7480" (scripts/rgw.sh), the
# region it signs for, the bucket (it must exist), and a key prefix under
# which this vault's repositories live.
#endpoint = ""
#region = "default"
#bucket = ""
#prefix = ""
# true: https://BUCKET.HOST/KEY; false: https://HOST/BUCKET/KEY.
#virtual_hosted = false
# CA bundle (PEM) to trust for an https endpoint; empty: the system's.
#ca_file = ""
# The S3 credentials: a file with the lines COFFRE_S3_ACCESS_KEY=... and
# COFFRE_S3_SECRET_KEY=... (what `scripts/rgw.sh env` prints), or the keys
# here, or else those two variables in the vault's environment.
#credentials_file = ""
#access_key = ""
#secret_key = ""

# Where tenants, tokens, usage and the audit trail are kept. "files":
# tenants.json and audit_log in the data folder, for one node. "postgres":
# a PostgreSQL database that every node of a fleet shares (docs/state.md).
[state]
#type = "files"
# For "postgres": a libpq connection string, e.g. "host=db.example.fr
# dbname=coffre user=coffre passfile=/etc/coffre/pgpass sslmode=verify-full"
# (scripts/postgres.sh env prints one). Put the password in a passfile,
# not here.
#conninfo = ""
# Connections open at once, at most.
#connections = 8
)";
}

}  // namespace coffre::vault
