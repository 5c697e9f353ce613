#include "vault/tenant/file_registry.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "tests/support/temp_dir.h"

namespace coffre::vault {
namespace {

using coffre::testing::ReadFile;
using coffre::testing::TempDir;
using coffre::testing::WriteFile;

std::unique_ptr<FileRegistry> MakeRegistry(const TempDir& dir) {
  auto r = FileRegistry::Create(dir.Sub("tenants.json"));
  REQUIRE(r);
  return std::move(*r);
}

// Asserts the one refusal every bad token must get.
void RequireRefused(const Registry& registry, std::string_view token) {
  INFO("token: " << token);
  auto p = registry.Authenticate(token);
  REQUIRE_FALSE(p);
  CHECK(p.error().code() == ErrorCode::kAuthFailed);
  CHECK(p.error().message() == "invalid token");
}

TEST_CASE("registry adds tenants, refuses duplicates and bad names", "[unit][vault]") {
  TempDir dir;
  auto registry = MakeRegistry(dir);
  REQUIRE(registry->AddTenant("acme", 0).ok());
  REQUIRE(registry->AddTenant("0-shop_2", 1 << 20).ok());
  CHECK(registry->AddTenant("acme", 5).code() == ErrorCode::kAlreadyExists);
  CHECK(registry->AddTenant("Acme", 0).code() == ErrorCode::kInvalidArgument);
  CHECK(registry->AddTenant("../x", 0).code() == ErrorCode::kInvalidArgument);

  auto tenants = registry->Tenants();
  REQUIRE(tenants.size() == 2);
  CHECK(tenants[0].name == "0-shop_2");
  CHECK(tenants[0].quota_bytes == (1u << 20));
  CHECK(tenants[1].name == "acme");
  REQUIRE(registry->SetQuota("acme", 42).ok());
  CHECK(registry->FindTenant("acme")->quota_bytes == 42);
  CHECK(registry->SetQuota("nobody", 1).code() == ErrorCode::kNotFound);
  CHECK(registry->FindTenant("nobody").error().code() == ErrorCode::kNotFound);

  // What was written is what a fresh reader sees.
  auto reopened = FileRegistry::Open(dir.Sub("tenants.json"));
  REQUIRE(reopened);
  CHECK((*reopened)->FindTenant("acme")->quota_bytes == 42);
  CHECK(FileRegistry::Create(dir.Sub("tenants.json")).error().code() == ErrorCode::kAlreadyExists);
  CHECK(FileRegistry::Open(dir.Sub("absent.json")).error().code() == ErrorCode::kNotFound);
}

TEST_CASE("registry file is private and never holds a token secret", "[unit][vault]") {
  TempDir dir;
  auto registry = MakeRegistry(dir);
  REQUIRE(registry->AddTenant("acme", 0).ok());
  auto token = registry->AddToken("acme", Role::kBackup);
  REQUIRE(token);
  const std::string secret = token->substr(21);
  REQUIRE(secret.size() == 64);

  const std::string text = ReadFile(dir.Sub("tenants.json"));
  CHECK(text.find(token->substr(4, 16)) != std::string::npos);  // the id is there
  CHECK(text.find(secret) == std::string::npos);
  CHECK(text.find(secret.substr(0, 16)) == std::string::npos);
  CHECK(text.find("\"version\": 1") != std::string::npos);
  struct stat st;
  REQUIRE(::stat(dir.Sub("tenants.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("registry authenticates a token to its tenant and role", "[unit][vault]") {
  TempDir dir;
  auto registry = MakeRegistry(dir);
  REQUIRE(registry->AddTenant("acme", 0).ok());
  REQUIRE(registry->AddTenant("bolt", 0).ok());
  CHECK(registry->AddToken("nobody", Role::kAdmin).error().code() == ErrorCode::kNotFound);

  auto backup = registry->AddToken("acme", Role::kBackup);
  auto admin = registry->AddToken("bolt", Role::kAdmin);
  REQUIRE(backup);
  REQUIRE(admin);
  REQUIRE(backup->size() == 85);
  CHECK(backup->substr(0, 4) == "cvt_");
  CHECK((*backup)[20] == '_');

  auto p = registry->Authenticate(*backup);
  REQUIRE(p);
  CHECK(p->tenant == "acme");
  CHECK(p->role == Role::kBackup);
  CHECK(p->token_id == backup->substr(4, 16));
  auto q = registry->Authenticate(*admin);
  REQUIRE(q);
  CHECK(q->tenant == "bolt");
  CHECK(q->role == Role::kAdmin);

  auto tokens = registry->Tokens();
  REQUIRE(tokens.size() == 2);
  CHECK(tokens[0].tenant == "acme");
  CHECK(tokens[1].tenant == "bolt");
  CHECK_FALSE(tokens[0].revoked);
}

TEST_CASE("registry refuses wrong, malformed and revoked tokens with one message",
          "[unit][vault]") {
  TempDir dir;
  auto registry = MakeRegistry(dir);
  REQUIRE(registry->AddTenant("acme", 0).ok());
  auto made = registry->AddToken("acme", Role::kRestore);
  REQUIRE(made);
  const std::string good = *made;
  REQUIRE(registry->Authenticate(good));

  std::string wrong_secret = good;
  wrong_secret.back() = wrong_secret.back() == '0' ? '1' : '0';
  RequireRefused(*registry, wrong_secret);
  std::string wrong_id = good;
  wrong_id[4] = wrong_id[4] == '0' ? '1' : '0';
  RequireRefused(*registry, wrong_id);

  RequireRefused(*registry, "");
  RequireRefused(*registry, good.substr(4));                   // no prefix
  RequireRefused(*registry, "cvx_" + good.substr(4));          // other prefix
  RequireRefused(*registry, good.substr(0, good.size() - 1));  // short
  RequireRefused(*registry, good + "0");                       // extra character
  RequireRefused(*registry, good + "\n");
  std::string upper = good;
  for (size_t i = 21; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  if (upper != good) RequireRefused(*registry, upper);
  std::string upper_id = good;
  for (size_t i = 4; i < 20; ++i) upper_id[i] = static_cast<char>(std::toupper(upper_id[i]));
  if (upper_id != good) RequireRefused(*registry, upper_id);
  std::string moved_separator = good;
  std::swap(moved_separator[20], moved_separator[21]);
  RequireRefused(*registry, moved_separator);
  std::string non_hex = good;
  non_hex[30] = 'g';
  RequireRefused(*registry, non_hex);

  REQUIRE(registry->RevokeToken(good.substr(4, 16)).ok());
  RequireRefused(*registry, good);
  CHECK(registry->RevokeToken("0000000000000000").code() == ErrorCode::kNotFound);
  auto tokens = registry->Tokens();
  REQUIRE(tokens.size() == 1);
  CHECK(tokens[0].revoked);  // kept, so the audit log's ids stay meaningful
}

TEST_CASE("a second registry on the same file sees new and revoked tokens after refresh",
          "[unit][vault]") {
  TempDir dir;
  auto writer = MakeRegistry(dir);
  REQUIRE(writer->AddTenant("acme", 0).ok());
  auto reader_or = FileRegistry::Open(dir.Sub("tenants.json"));
  REQUIRE(reader_or);
  auto& reader = *reader_or;

  auto token = writer->AddToken("acme", Role::kBackup);
  REQUIRE(token);
  RequireRefused(*reader, *token);  // not re-read yet
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  REQUIRE(reader->Refresh().ok());
  auto p = reader->Authenticate(*token);
  REQUIRE(p);
  CHECK(p->tenant == "acme");

  // The reader modifying the file must keep the writer's token: Modify
  // re-reads under the lock rather than writing its own stale copy.
  REQUIRE(reader->AddTenant("bolt", 0).ok());
  const auto modified_at = std::chrono::steady_clock::now();
  auto again = FileRegistry::Open(dir.Sub("tenants.json"));
  REQUIRE(again);
  CHECK((*again)->Authenticate(*token));
  CHECK((*again)->Tenants().size() == 2);

  // Refresh is rate-limited: a change right after a check waits its turn.
  REQUIRE(writer->RevokeToken(token->substr(4, 16)).ok());
  REQUIRE(reader->Refresh().ok());
  // (Only checkable when this machine was not stalled for a second.)
  if (std::chrono::steady_clock::now() - modified_at < std::chrono::milliseconds(900)) {
    CHECK(reader->Authenticate(*token));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  REQUIRE(reader->Refresh().ok());
  RequireRefused(*reader, *token);
}

TEST_CASE("registry refuses an unsupported version and a damaged file", "[unit][vault]") {
  TempDir dir;
  WriteFile(dir.Sub("v5.json"), R"({"version": 5, "tenants": [], "tokens": []})");
  auto v5 = FileRegistry::Open(dir.Sub("v5.json"));
  REQUIRE_FALSE(v5);
  CHECK(v5.error().code() == ErrorCode::kUnsupportedVersion);

  WriteFile(dir.Sub("bad.json"), R"({"version": 1, "tenants": [)");
  CHECK(FileRegistry::Open(dir.Sub("bad.json")).error().code() == ErrorCode::kCorruption);
  WriteFile(dir.Sub("type.json"), R"({"version": 1, "tenants": [{"name": 3}], "tokens": []})");
  CHECK(FileRegistry::Open(dir.Sub("type.json")).error().code() == ErrorCode::kCorruption);
  WriteFile(dir.Sub("orphan.json"),
            R"({"version": 1, "tenants": [], "tokens": [{"id": "0123456789abcdef",
                "tenant": "ghost", "role": "admin", "created_ns": 0, "revoked": false,
                "secret_sha256": ")" +
                std::string(64, 'a') + R"("}]})");
  CHECK(FileRegistry::Open(dir.Sub("orphan.json")).error().code() == ErrorCode::kCorruption);
}

TEST_CASE("a token limited to one repository is kept as version 2, others as version 1",
          "[unit][vault]") {
  TempDir dir;
  auto registry = MakeRegistry(dir);
  REQUIRE(registry->AddTenant("acme", 0).ok());
  auto all = registry->AddToken("acme", Role::kBackup);
  REQUIRE(all);
  // Without a limited token the file stays readable by version-1 builds.
  CHECK(ReadFile(dir.Sub("tenants.json")).find("\"version\": 1") != std::string::npos);
  CHECK(registry->AddToken("acme", Role::kBackup, "../x").error().code() ==
        ErrorCode::kInvalidArgument);
  auto limited = registry->AddToken("acme", Role::kBackup, "laptop");
  REQUIRE(limited);
  const std::string text = ReadFile(dir.Sub("tenants.json"));
  CHECK(text.find("\"version\": 2") != std::string::npos);
  CHECK(text.find("\"repo\": \"laptop\"") != std::string::npos);

  auto reopened = FileRegistry::Open(dir.Sub("tenants.json"));
  REQUIRE(reopened);
  CHECK((*reopened)->Authenticate(*limited).value().repo == "laptop");
  CHECK((*reopened)->Authenticate(*all).value().repo.empty());
}

TEST_CASE("a failed refresh keeps the registry as it was", "[unit][vault]") {
  TempDir dir;
  auto registry = MakeRegistry(dir);
  REQUIRE(registry->AddTenant("acme", 0).ok());
  auto token = registry->AddToken("acme", Role::kAdmin);
  REQUIRE(token);
  WriteFile(dir.Sub("tenants.json"), "{ damaged");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(registry->Refresh().code() == ErrorCode::kCorruption);
  CHECK(registry->Authenticate(*token));
}

TEST_CASE("tenant and repository names follow the documented alphabet", "[unit][vault]") {
  for (auto validate : {ValidateTenantName, ValidateRepoName}) {
    CHECK(validate("a").ok());
    CHECK(validate("0").ok());
    CHECK(validate("a-b_c9").ok());
    CHECK(validate(std::string(63, 'a')).ok());
    CHECK(validate(std::string(64, 'a')).code() == ErrorCode::kInvalidArgument);
    CHECK(validate("").code() == ErrorCode::kInvalidArgument);
    CHECK(validate("-a").code() == ErrorCode::kInvalidArgument);
    CHECK(validate("_a").code() == ErrorCode::kInvalidArgument);
    CHECK(validate("A").code() == ErrorCode::kInvalidArgument);
    CHECK(validate("a/b").code() == ErrorCode::kInvalidArgument);
    CHECK(validate("..").code() == ErrorCode::kInvalidArgument);
    CHECK(validate("a.b").code() == ErrorCode::kInvalidArgument);
    CHECK(validate(std::string("a\0b", 3)).code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("roles round-trip through their names", "[unit][vault]") {
  for (Role role : {Role::kBackup, Role::kRestore, Role::kAdmin, Role::kMaintain}) {
    auto parsed = ParseRole(RoleName(role));
    REQUIRE(parsed);
    CHECK(*parsed == role);
  }
  CHECK(ParseRole("Admin").error().code() == ErrorCode::kInvalidArgument);
  CHECK(ParseRole("").error().code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace coffre::vault

namespace coffre::vault {
namespace {

TEST_CASE("a tenant with a placement is kept as version 3 and read back", "[unit][vault]") {
  coffre::testing::TempDir dir;
  auto created = FileRegistry::Create(dir.Sub("tenants.json"));
  REQUIRE(created);
  auto& registry = **created;
  REQUIRE(registry.AddTenant("acme", 0).ok());
  CHECK(coffre::testing::ReadFile(dir.Sub("tenants.json")).find("\"version\": 1") !=
        std::string::npos);
  auto placement = ParsePlacement("fr-rbx,fr-par", 2);
  REQUIRE(placement);
  REQUIRE(registry.SetPlacement("acme", *placement).ok());
  CHECK(registry.SetPlacement("nobody", *placement).code() == ErrorCode::kNotFound);
  // An older build would ignore the placement: the version makes it refuse.
  CHECK(coffre::testing::ReadFile(dir.Sub("tenants.json")).find("\"version\": 3") !=
        std::string::npos);
  auto reopened = FileRegistry::Open(dir.Sub("tenants.json"));
  REQUIRE(reopened);
  const Placement read = (*reopened)->FindTenant("acme")->placement;
  CHECK(read.locations == std::vector<std::string>{"fr-par", "fr-rbx"});
  CHECK(read.copies == 2);
  CHECK(read.Allows("fr-par"));
  CHECK_FALSE(read.Allows("fr-sbg"));
  CHECK(read.Describe() == "fr-par,fr-rbx");
}

TEST_CASE("a deletion hold or a maintain token is kept as version 4 and read back",
          "[unit][vault]") {
  coffre::testing::TempDir dir;
  auto created = FileRegistry::Create(dir.Sub("tenants.json"));
  REQUIRE(created);
  auto& registry = **created;
  REQUIRE(registry.AddTenant("acme", 0).ok());
  REQUIRE(registry.AddTenant("bolt", 0).ok());
  CHECK(registry.SetHold("nobody", 14).code() == ErrorCode::kNotFound);
  CHECK(registry.SetHold("acme", -1).code() == ErrorCode::kInvalidArgument);
  CHECK(registry.SetHold("acme", kMaxHoldDays + 1).code() == ErrorCode::kInvalidArgument);
  REQUIRE(registry.SetHold("acme", 14).ok());
  // An older build would delete for good under the hold: version 4 makes it refuse.
  const std::string text = coffre::testing::ReadFile(dir.Sub("tenants.json"));
  CHECK(text.find("\"version\": 4") != std::string::npos);
  CHECK(text.find("\"hold_days\": 14") != std::string::npos);
  auto reopened = FileRegistry::Open(dir.Sub("tenants.json"));
  REQUIRE(reopened);
  CHECK((*reopened)->FindTenant("acme")->hold_days == 14);
  CHECK((*reopened)->FindTenant("bolt")->hold_days == 0);

  REQUIRE(registry.SetHold("acme", 0).ok());
  CHECK(coffre::testing::ReadFile(dir.Sub("tenants.json")).find("\"version\": 1") !=
        std::string::npos);
  auto token = registry.AddToken("bolt", Role::kMaintain);
  REQUIRE(token);
  CHECK(coffre::testing::ReadFile(dir.Sub("tenants.json")).find("\"version\": 4") !=
        std::string::npos);
  auto again = FileRegistry::Open(dir.Sub("tenants.json"));
  REQUIRE(again);
  CHECK((*again)->Authenticate(*token)->role == Role::kMaintain);

  // A hold out of range in the file is damage, not a hold.
  coffre::testing::WriteFile(
      dir.Sub("bad.json"),
      R"({"version": 4, "tenants": [{"name": "acme", "quota_bytes": 0, "created_ns": 1,)"
      R"( "hold_days": -3}], "tokens": []})");
  CHECK(FileRegistry::Open(dir.Sub("bad.json")).error().code() == ErrorCode::kCorruption);
}

TEST_CASE("placements parse and are checked", "[unit][vault]") {
  CHECK(ParsePlacement("any", 1)->locations.empty());
  CHECK(ParsePlacement("any", 1)->Allows("anywhere"));
  CHECK(ParsePlacement("any", 2).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ParsePlacement("fr-par", 2).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ParsePlacement("fr-par,fr-par", 1).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ParsePlacement("fr-par,", 1).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ParsePlacement("FR-PAR", 1).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ParsePlacement("fr-par,fr-rbx,fr-sbg", 0).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ParsePlacement("fr-par,fr-rbx,fr-sbg", 3)->copies == 3);
  CHECK(ValidateLocation(std::string(33, 'a')).code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace coffre::vault
