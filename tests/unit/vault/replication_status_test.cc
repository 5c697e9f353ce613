// ReplicationStatus: the file a replicate job keeps round-trips whole, and
// a file of another version or a damaged one is refused, not misread.
#include "vault/replicate/replication_status.h"

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"

namespace coffre::vault {
namespace {

using coffre::testing::TempDir;
using coffre::testing::WriteFile;

TEST_CASE("replication status round-trips and refuses what it cannot read", "[unit][vault]") {
  TempDir dir;
  ReplicationStatus s;
  s.tenant = "acme";
  s.to = "https://127.0.0.1:8443";
  s.to_location = "fr-rbx";
  s.pass_started_ns = 1796300000000000000;
  s.synced_as_of_ns = 1796200000000000000;
  s.objects_behind = 3;
  s.bytes_behind = uint64_t{1} << 40;
  s.objects_sent = 7;
  s.bytes_sent = 9;
  s.deleted = 2;
  s.pending_deletes = {{"main/data/" + std::string(64, 'a'), 1796300000000000001}};
  s.held = {{"main/index/" + std::string(64, 'b'), 1796300000000000002}};
  s.last_error = "no answer";
  const std::string path = ReplicationStatusPath(dir.path(), "acme", "::1", 8443);
  CHECK(path == dir.path() + "/replication/acme@__1_8443.json");
  REQUIRE(WriteReplicationStatus(path, s).ok());
  auto read = ReadReplicationStatus(path);
  REQUIRE(read);
  CHECK(read->tenant == s.tenant);
  CHECK(read->to_location == "fr-rbx");
  CHECK(read->bytes_behind == s.bytes_behind);
  CHECK(read->synced_as_of_ns == s.synced_as_of_ns);
  CHECK(read->pending_deletes == s.pending_deletes);
  CHECK(read->held == s.held);
  CHECK(read->last_error == "no answer");
  REQUIRE(ReadAllReplicationStatus(dir.path()).size() == 1);

  CHECK(ReadReplicationStatus(dir.Sub("absent.json")).error().code() == ErrorCode::kNotFound);
  WriteFile(dir.Sub("replication/v2.json"), R"({"version": 2})");
  CHECK(ReadReplicationStatus(dir.Sub("replication/v2.json")).error().code() ==
        ErrorCode::kUnsupportedVersion);
  WriteFile(dir.Sub("replication/bad.json"), R"({"version": 1, "tenant": 5})");
  CHECK(ReadReplicationStatus(dir.Sub("replication/bad.json")).error().code() ==
        ErrorCode::kCorruption);
  // Files that do not read are left out of the listing, not fatal.
  CHECK(ReadAllReplicationStatus(dir.path()).size() == 1);
}

}  // namespace
}  // namespace coffre::vault
