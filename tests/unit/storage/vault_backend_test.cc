// VaultBackend beyond the storage contract (tests/conformance/): a vault
// URL, or several joined with ',' naming one repository on vault nodes that
// share a store; a node that does not answer moves the requests to the
// next one, so a retry goes on there; a listing longer than the vault's
// page comes whole, page by page.
#include "core/storage/vault/vault_backend.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "core/crypto/hash.h"
#include "core/storage/retry_backend.h"
#include "tests/support/vault_process.h"

namespace coffre::storage::vault {
namespace {

TEST_CASE("vault URLs: one or several that name the same repository", "[unit][agent]") {
  auto one = ParseVaultUrl("https://vault.example.fr:8443/acme/main");
  REQUIRE(one);
  CHECK(one->host == "vault.example.fr");
  CHECK(one->port == 8443);
  CHECK(one->nodes.size() == 1);
  CHECK(one->ToString() == "https://vault.example.fr:8443/acme/main");

  const std::string both = "https://a.example.fr:8443/acme/main,https://[::1]:9443/acme/main";
  auto two = ParseVaultUrl(both);
  REQUIRE(two);
  REQUIRE(two->nodes.size() == 2);
  CHECK(two->host == "a.example.fr");
  CHECK(two->nodes[1].host == "::1");
  CHECK(two->nodes[1].port == 9443);
  CHECK(two->ToString() == both);

  auto mixed = ParseVaultUrl("https://a:1/acme/main,https://b:2/acme/other");
  REQUIRE_FALSE(mixed);
  CHECK(mixed.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(mixed.error().message(), Catch::Contains("same TENANT/REPO"));
  CHECK(ParseVaultUrl("https://a:1/acme/main,").error().code() == ErrorCode::kInvalidArgument);
  CHECK(ParseVaultUrl("https://a:1/acme/main,http://b/acme/main").error().code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("a vault node that does not answer hands the requests to the next", "[unit][agent]") {
  testing::VaultProcess& vault = testing::SharedVault();
  const std::string live = vault.RepoUrl("failover");
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  auto url = ParseVaultUrl("https://127.0.0.1:1/" + vault.tenant() + "/failover," + live);
  REQUIRE(url);
  VaultOptions options;
  options.token = vault.token();
  options.ca_file = vault.ca_file();
  // Opening tries each node in turn: the dead one first, then the live one.
  auto created = VaultBackend::Create(*url, options);
  INFO((created ? "" : created.error().message()));
  REQUIRE(created);
  created->reset();
  auto opened = VaultBackend::Open(*url, options);
  REQUIRE(opened);

  // Once moved, the backend stays on the node that answers; wrapped in
  // retries as the agent does, it saves and loads as usual.
  storage::RetryOptions fast;
  fast.base_delay = std::chrono::milliseconds(1);
  storage::RetryingBackend backend(std::shared_ptr<storage::Backend>(std::move(*opened)), fast);
  const Bytes data = ToBytes("through the node that answers");
  const storage::ObjectName object{storage::ObjectKind::kData,
                                   HexEncode(crypto::Sha256(data))};
  REQUIRE(backend.Save(object, data).ok());
  CHECK(backend.Load(object).value() == data);
}

TEST_CASE("a listing longer than the vault's page is read page by page, each name once",
          "[unit][agent]") {
  testing::VaultProcess vault("pages", "max_list_page = 100\n");
  auto url = ParseVaultUrl(vault.RepoUrl("main"));
  REQUIRE(url);
  VaultOptions options;
  options.token = vault.token();
  options.ca_file = vault.ca_file();
  auto backend = VaultBackend::Create(*url, options);
  INFO((backend ? "" : backend.error().message()));
  REQUIRE(backend);
  std::set<std::string> saved;
  for (int i = 0; i < 250; ++i) {
    const Bytes data = ToBytes("index " + std::to_string(i));
    const storage::ObjectName object{storage::ObjectKind::kIndex, HexEncode(crypto::Sha256(data))};
    REQUIRE((*backend)->Save(object, data).ok());
    saved.insert(object.name);
  }
  std::multiset<std::string> listed;
  REQUIRE((*backend)
              ->List(storage::ObjectKind::kIndex,
                     [&](const storage::ObjectInfo& info) {
                       listed.insert(info.name);
                       return Status::Ok();
                     })
              .ok());
  CHECK(listed.size() == 250);
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == saved);

  // On the wire: a page is at most max_list_page names, in name order, and
  // says where the next starts; a client that does not page is refused
  // rather than given a cut listing.
  httplib::Client http(vault.base_url());  // https: the tests build with its OpenSSL support
  http.set_ca_cert_path(vault.ca_file().c_str());
  const httplib::Headers auth = {{"Authorization", "Bearer " + vault.token()}};
  const std::string path = "/v1/repos/pages/main/index/";
  auto whole = http.Get(path, auth);
  REQUIRE(whole);
  CHECK(whole->status == 400);
  CHECK_THAT(whole->body, Catch::Contains("?limit="));
  auto first = http.Get(path + "?limit=1000", auth);
  REQUIRE(first);
  REQUIRE(first->status == 200);
  auto names = nlohmann::json::parse(first->body);
  REQUIRE(names.size() == 100);
  CHECK(names[0]["name"] == *saved.begin());
  CHECK(first->get_header_value("Coffre-List-Next-After") == names[99]["name"]);
  auto last = http.Get(path + "?limit=100&after=" + *std::next(saved.begin(), 199), auth);
  REQUIRE(last);
  CHECK(nlohmann::json::parse(last->body).size() == 50);
  CHECK_FALSE(last->has_header("Coffre-List-Next-After"));
}

}  // namespace
}  // namespace coffre::storage::vault
