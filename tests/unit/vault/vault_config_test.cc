#include "vault/config/vault_config.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace coffre::vault {
namespace {

using coffre::testing::TempDir;
using coffre::testing::WriteFile;

void CheckDefaults(const VaultConfig& c, const std::string& data) {
  CHECK(c.data_dir == data);
  CHECK(c.listen == "127.0.0.1:8443");
  CHECK(c.tls_cert == data + "/tls/cert.pem");
  CHECK(c.tls_key == data + "/tls/key.pem");
  CHECK(c.audit_log == data + "/audit.log");
  CHECK(c.max_object_bytes == 256ull << 20);
  CHECK(c.threads == 32);
  CHECK(c.metrics_token.empty());
  CHECK(c.storage.type == StorageConfig::Type::kLocal);
  CHECK(c.storage.region == "default");
  CHECK(c.storage.ca_file.empty());
  CHECK(c.storage.credentials_file.empty());
  CHECK(c.state.type == StateConfig::Type::kFiles);
  CHECK(c.state.conninfo.empty());
  CHECK(c.state.connections == 8);
  CHECK(c.node_name.empty());
}

// Loads DATA/vault.toml holding `text`, expecting an error that names `key`.
void RequireRefused(const std::string& text, const std::string& key,
                    ErrorCode code = ErrorCode::kInvalidArgument) {
  TempDir dir;
  WriteFile(dir.Sub("vault.toml"), text);
  auto c = LoadVaultConfig(dir.path());
  INFO(text);
  REQUIRE_FALSE(c);
  CHECK(c.error().code() == code);
  CHECK(c.error().message().find(key) != std::string::npos);
}

TEST_CASE("vault config without a file is the defaults", "[unit][vault]") {
  TempDir dir;
  auto c = LoadVaultConfig(dir.path());
  REQUIRE(c);
  CheckDefaults(*c, dir.path());
}

TEST_CASE("vault config reads every key, resolving relative paths in the data folder",
          "[unit][vault]") {
  TempDir dir;
  WriteFile(dir.Sub("vault.toml"), R"(
listen = "[::]:9443"
tls_cert = "/etc/coffre/cert.pem"
tls_key = "keys/key.pem"
audit_log = "logs/audit.log"
max_object_size = "1GiB"
threads = 8
metrics_token = "s3cret"
)");
  auto c = LoadVaultConfig(dir.path());
  REQUIRE(c);
  CHECK(c->listen == "[::]:9443");
  CHECK(c->tls_cert == "/etc/coffre/cert.pem");
  CHECK(c->tls_key == dir.path() + "/keys/key.pem");
  CHECK(c->audit_log == dir.path() + "/logs/audit.log");
  CHECK(c->max_object_bytes == 1ull << 30);
  CHECK(c->threads == 8);
  CHECK(c->metrics_token == "s3cret");
}

TEST_CASE("vault config takes a size as bytes or with a binary unit", "[unit][vault]") {
  const std::pair<const char*, uint64_t> cases[] = {
      {"1048576", 1048576},     {"\"64MiB\"", 64ull << 20}, {"\"512 KiB\"", 512ull << 10},
      {"\"2TiB\"", 2ull << 40}, {"\"4096\"", 4096},         {"\"10B\"", 10},
  };
  for (const auto& [value, bytes] : cases) {
    TempDir dir;
    WriteFile(dir.Sub("vault.toml"), std::string("max_object_size = ") + value + "\n");
    auto c = LoadVaultConfig(dir.path());
    INFO(value);
    REQUIRE(c);
    CHECK(c->max_object_bytes == bytes);
  }
}

TEST_CASE("the default vault.toml parses and yields the defaults", "[unit][vault]") {
  const std::string text = DefaultVaultToml();
  TempDir dir;
  WriteFile(dir.Sub("vault.toml"), text);
  auto c = LoadVaultConfig(dir.path());
  REQUIRE(c);
  CheckDefaults(*c, dir.path());

  // Uncommenting every key must change nothing: the comments tell the truth.
  std::string uncommented;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    bool is_key = line.size() > 1 && line[0] == '#' &&
                  std::islower(static_cast<unsigned char>(line[1])) &&
                  line.find(" = ") != std::string::npos;
    uncommented += (is_key ? line.substr(1) : line) + "\n";
  }
  for (const char* key : {"listen", "tls_cert", "tls_key", "audit_log", "max_object_size",
                          "threads", "metrics_token", "type", "endpoint", "bucket",
                          "credentials_file", "secret_key", "node_name", "location",
                          "conninfo", "connections"}) {
    INFO(key);
    CHECK(uncommented.find(std::string("\n") + key + " = ") != std::string::npos);
  }
  WriteFile(dir.Sub("vault.toml"), uncommented);
  auto d = LoadVaultConfig(dir.path());
  REQUIRE(d);
  CheckDefaults(*d, dir.path());
}

TEST_CASE("vault config refuses bad values and unknown keys, naming the key", "[unit][vault]") {
  RequireRefused("threads = \"eight\"\n", "threads");
  RequireRefused("threads = 0\n", "threads");
  RequireRefused("listen = 8443\n", "listen");
  RequireRefused("listen = \"localhost\"\n", "listen");
  RequireRefused("listen = \"127.0.0.1:70000\"\n", "listen");
  RequireRefused("max_object_size = \"12 parsecs\"\n", "max_object_size");
  RequireRefused("max_object_size = \"256 mb\"\n", "max_object_size");
  RequireRefused("max_object_size = 0\n", "max_object_size");
  RequireRefused("max_object_size = -5\n", "max_object_size");
  RequireRefused("max_object_size = \"99999999999TiB\"\n", "max_object_size");
  RequireRefused("tls_cert = \"\"\n", "tls_cert");
  RequireRefused("metrics_token = true\n", "metrics_token");
  RequireRefused("threads = 4\nlisen = \"0.0.0.0:1\"\n", "lisen");
  RequireRefused("[server]\nthreads = 4\n", "server");
  // The line is named too, so an operator finds it in a long file.
  RequireRefused("\n\n\nthreads = -1\n", "line 4");
}

TEST_CASE("vault config reports a file that is not TOML as corrupt", "[unit][vault]") {
  RequireRefused("threads = = 4\n", "vault.toml", ErrorCode::kCorruption);
  RequireRefused("listen = \"unterminated\n", "vault.toml", ErrorCode::kCorruption);
}

TEST_CASE("listen addresses parse to host and port", "[unit][vault]") {
  std::string host;
  int port = -1;
  REQUIRE(ParseListen("127.0.0.1:8443", &host, &port).ok());
  CHECK(host == "127.0.0.1");
  CHECK(port == 8443);
  REQUIRE(ParseListen("[::1]:0", &host, &port).ok());
  CHECK(host == "::1");
  CHECK(port == 0);
  REQUIRE(ParseListen("vault.example.fr:65535", &host, &port).ok());
  CHECK(host == "vault.example.fr");
  CHECK(port == 65535);

  for (const char* bad :
       {"127.0.0.1", "127.0.0.1:", ":8443", "127.0.0.1:65536", "127.0.0.1:99999", "127.0.0.1:-1",
        "127.0.0.1:80a", "::1:8443", "[::1:8443", "[nothex]:1", "[]:1", "a b:1", "", "host:+80"}) {
    INFO(bad);
    Status s = ParseListen(bad, &host, &port);
    CHECK(s.code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("vault config reads an S3 [storage] and refuses bad keys in it", "[unit][vault]") {
  TempDir dir;
  WriteFile(dir.Sub("vault.toml"),
            "[storage]\ntype = \"s3\"\nendpoint = \"http://127.0.0.1:7480\"\n"
            "bucket = \"coffre\"\nprefix = \"fleet\"\nvirtual_hosted = true\n"
            "credentials_file = \"s3.env\"\n");
  auto c = LoadVaultConfig(dir.path());
  REQUIRE(c);
  CHECK(c->storage.type == StorageConfig::Type::kS3);
  CHECK(c->storage.endpoint == "http://127.0.0.1:7480");
  CHECK(c->storage.bucket == "coffre");
  CHECK(c->storage.prefix == "fleet");
  CHECK(c->storage.virtual_hosted);
  CHECK(c->storage.credentials_file == dir.Sub("s3.env"));

  RequireRefused("[storage]\ntype = \"ceph\"\n", "storage.type");
  RequireRefused("[storage]\nvirtual_hosted = \"yes\"\n", "storage.virtual_hosted");
  RequireRefused("[storage]\nsecret = \"x\"\n", "storage.secret");
  RequireRefused("storage = \"s3\"\n", "storage");
}

TEST_CASE("S3 credentials come from the config, then a file, then the environment",
          "[unit][vault]") {
  TempDir dir;
  StorageConfig storage;
  storage.access_key = "AKIDCONFIG";
  storage.secret_key = "secret-config";
  storage.credentials_file = dir.Sub("s3.env");
  WriteFile(storage.credentials_file,
            "COFFRE_S3_ENDPOINT=http://x\nCOFFRE_S3_ACCESS_KEY=AKIDFILE\nCOFFRE_S3_SECRET_KEY=secret-file\n");
  CHECK(S3Credentials(storage).value() == std::make_pair(std::string("AKIDCONFIG"),
                                                         std::string("secret-config")));
  storage.access_key.clear();
  CHECK(S3Credentials(storage).value() == std::make_pair(std::string("AKIDFILE"),
                                                         std::string("secret-file")));
  WriteFile(storage.credentials_file, "COFFRE_S3_ACCESS_KEY=AKIDFILE\n");
  auto half = S3Credentials(storage);
  REQUIRE_FALSE(half);
  CHECK_THAT(half.error().message(), Catch::Contains("COFFRE_S3_SECRET_KEY"));
  storage.credentials_file = dir.Sub("missing.env");
  CHECK_THAT(S3Credentials(storage).error().message(), Catch::Contains("missing.env"));

  // The environment as this process had it comes back at the end (a test
  // run in one process shares it with the S3 tests).
  storage.credentials_file.clear();
  const char* saved_access = std::getenv("COFFRE_S3_ACCESS_KEY");
  const char* saved_secret = std::getenv("COFFRE_S3_SECRET_KEY");
  const std::optional<std::string> old_access =
      saved_access ? std::optional<std::string>(saved_access) : std::nullopt;
  const std::optional<std::string> old_secret =
      saved_secret ? std::optional<std::string>(saved_secret) : std::nullopt;
  ::setenv("COFFRE_S3_ACCESS_KEY", "AKIDENV", 1);
  ::setenv("COFFRE_S3_SECRET_KEY", "secret-env", 1);
  auto from_env = S3Credentials(storage);
  ::unsetenv("COFFRE_S3_ACCESS_KEY");
  ::unsetenv("COFFRE_S3_SECRET_KEY");
  auto none = S3Credentials(storage);
  if (old_access) ::setenv("COFFRE_S3_ACCESS_KEY", old_access->c_str(), 1);
  if (old_secret) ::setenv("COFFRE_S3_SECRET_KEY", old_secret->c_str(), 1);
  CHECK(from_env.value() == std::make_pair(std::string("AKIDENV"), std::string("secret-env")));
  REQUIRE_FALSE(none);
  CHECK_THAT(none.error().message(), Catch::Contains("no S3 credentials"));
}

}  // namespace
}  // namespace coffre::vault

namespace coffre::vault {
namespace {

TEST_CASE("vault config reads a postgres [state] and refuses bad ones", "[unit][vault]") {
  TempDir dir;
  WriteFile(dir.Sub("vault.toml"),
            "node_name = \"node-a\"\n[state]\ntype = \"postgres\"\n"
            "conninfo = \"host=127.0.0.1 dbname=coffre\"\nconnections = 3\n");
  auto c = LoadVaultConfig(dir.path());
  REQUIRE(c);
  CHECK(c->state.type == StateConfig::Type::kPostgres);
  CHECK(c->state.conninfo == "host=127.0.0.1 dbname=coffre");
  CHECK(c->state.connections == 3);
  CHECK(NodeName(*c) == "node-a");
  c->node_name.clear();
  CHECK_FALSE(NodeName(*c).empty());  // the host's name

  RequireRefused("[state]\ntype = \"postgres\"\n", "conninfo");
  RequireRefused("[state]\ntype = \"redis\"\n", "type");
  RequireRefused("[state]\ntype = \"postgres\"\nconninfo = \"x\"\nconnections = 0\n",
                 "connections");
  RequireRefused("[state]\nconnections = 1000\n", "connections");
  RequireRefused("[state]\nconnection = 4\n", "connection");
  RequireRefused("location = \"FR PAR\"\n", "location");
}

TEST_CASE("docs/vault.md shows the vault.toml that init writes", "[unit][vault]") {
  std::ifstream in(std::string(COFFRE_SOURCE_DIR) + "/docs/vault.md");
  REQUIRE(in);
  std::stringstream doc;
  doc << in.rdbuf();
  const std::string text = doc.str();
  const std::string start = "```toml\n# coffre-vault configuration.";
  const size_t from = text.find(start);
  REQUIRE(from != std::string::npos);
  const size_t body = from + std::string("```toml\n").size();
  const size_t end = text.find("```\n", body);
  REQUIRE(end != std::string::npos);
  CHECK(text.substr(body, end - body) == DefaultVaultToml());
}

}  // namespace
}  // namespace coffre::vault
