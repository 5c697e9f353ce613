// Who may do what: a token stays inside its tenant (and its one repository
// if it is limited to one), a restore token only
// reads, a backup token never deletes, and every bad Authorization header
// gets the same refusal.
#include "vault/api/request_auth.h"
#include "vault/tenant/file_registry.h"

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace coffre::vault {
namespace {

TEST_CASE("CheckAccess keeps a token inside its tenant and role", "[unit][vault]") {
  const Principal backup{"acme", Role::kBackup, "1"};
  const Principal restore{"acme", Role::kRestore, "2"};
  const Principal admin{"acme", Role::kAdmin, "3"};
  for (const Principal& who : {backup, restore, admin}) {
    CHECK(CheckAccess(who, "acme", "main", Need::kRead).ok());
    for (Need need : {Need::kRead, Need::kCreate, Need::kDelete, Need::kDeleteLock}) {
      Status other = CheckAccess(who, "other", "main", need);
      CHECK(other.code() == ErrorCode::kPermissionDenied);
      CHECK(other.message().find("other") == std::string::npos);  // names nothing
    }
  }
  CHECK(CheckAccess(backup, "acme", "main", Need::kCreate).ok());
  CHECK(CheckAccess(backup, "acme", "main", Need::kDelete).code() == ErrorCode::kPermissionDenied);
  CHECK(CheckAccess(restore, "acme", "main", Need::kCreate).code() == ErrorCode::kPermissionDenied);
  CHECK(CheckAccess(restore, "acme", "main", Need::kDelete).code() == ErrorCode::kPermissionDenied);
  CHECK(CheckAccess(admin, "acme", "main", Need::kCreate).ok());
  CHECK(CheckAccess(admin, "acme", "main", Need::kDelete).ok());
  // Locks: a backup deletes its own when it ends; a restore token nothing.
  CHECK(CheckAccess(backup, "acme", "main", Need::kDeleteLock).ok());
  CHECK(CheckAccess(admin, "acme", "main", Need::kDeleteLock).ok());
  CHECK(CheckAccess(restore, "acme", "main", Need::kDeleteLock).code() == ErrorCode::kPermissionDenied);
}

TEST_CASE("a maintain token writes and deletes, but deletes only under a deletion hold",
          "[unit][vault]") {
  const Principal maintain{"acme", Role::kMaintain, "5"};
  CHECK(CheckAccess(maintain, "acme", "main", Need::kRead).ok());
  CHECK(CheckAccess(maintain, "acme", "main", Need::kCreate).ok());
  CHECK(CheckAccess(maintain, "acme", "main", Need::kDeleteLock).ok());
  CHECK(CheckAccess(maintain, "acme", "main", Need::kDelete, /*held=*/true).ok());
  Status unheld = CheckAccess(maintain, "acme", "main", Need::kDelete, /*held=*/false);
  CHECK(unheld.code() == ErrorCode::kPermissionDenied);
  CHECK_THAT(unheld.message(), Catch::Contains("deletion hold"));
  // A hold gives nothing to the roles that cannot delete, nor another tenant.
  CHECK(CheckAccess({"acme", Role::kBackup, "1"}, "acme", "main", Need::kDelete, true).code() ==
        ErrorCode::kPermissionDenied);
  CHECK(CheckAccess({"acme", Role::kRestore, "2"}, "acme", "main", Need::kDelete, true).code() ==
        ErrorCode::kPermissionDenied);
  CHECK(CheckAccess(maintain, "other", "main", Need::kDelete, true).code() ==
        ErrorCode::kPermissionDenied);
}

TEST_CASE("CheckAccess keeps a repository's token inside that repository", "[unit][vault]") {
  const Principal limited{"acme", Role::kBackup, "4", "laptop"};
  for (Need need : {Need::kRead, Need::kCreate, Need::kDeleteLock}) {
    CHECK(CheckAccess(limited, "acme", "laptop", need).ok());
    Status other = CheckAccess(limited, "acme", "server", need);
    CHECK(other.code() == ErrorCode::kPermissionDenied);
    CHECK(other.message().find("server") == std::string::npos);
    CHECK(CheckAccess(limited, "other", "laptop", need).code() == ErrorCode::kPermissionDenied);
  }
  // Still its role's rules inside its repository.
  CHECK(CheckAccess(limited, "acme", "laptop", Need::kDelete).code() ==
        ErrorCode::kPermissionDenied);
}

TEST_CASE("Authenticate takes a Bearer token and refuses anything else alike",
          "[unit][vault]") {
  testing::TempDir dir;
  auto registry = FileRegistry::Create(dir.Sub("tenants.json"));
  REQUIRE(registry);
  REQUIRE((*registry)->AddTenant("acme", 0).ok());
  auto token = (*registry)->AddToken("acme", Role::kBackup);
  REQUIRE(token);

  auto who = Authenticate(**registry, "Bearer " + *token);
  REQUIRE(who);
  CHECK(who->tenant == "acme");
  CHECK(who->role == Role::kBackup);

  std::string message;
  for (const std::string& header : {std::string(), "Basic " + *token, "bearer " + *token,
                                    *token, std::string("Bearer"), "Bearer " + token->substr(1),
                                    "Bearer " + *token + "0"}) {
    INFO(header);
    auto refused = Authenticate(**registry, header);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code() == ErrorCode::kAuthFailed);
    if (message.empty()) message = refused.error().message();
    CHECK(refused.error().message() == message);
  }
}

}  // namespace
}  // namespace coffre::vault
