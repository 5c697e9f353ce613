// S3Bucket and S3Backend beyond the shared contract (tests/conformance/),
// against the real Ceph RADOS Gateway named by COFFRE_S3_ENDPOINT
// (scripts/rgw.sh): a wrong key, a wrong secret, a missing bucket, a skewed
// clock and a dead endpoint each give one line naming the cause and never
// the secret; a listing pages past S3's 1000 keys; keys outside the layout
// are not objects; a stream of another length than announced leaves nothing.
#include "core/storage/s3/s3_backend.h"

#include <unistd.h>

#include <optional>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "core/crypto/hash.h"
#include "tests/support/s3_server.h"

namespace coffre::storage::s3 {
namespace {

std::optional<S3Options> Environment() { return testing::TestS3Server("s3-backend-test"); }

// A prefix of this test process's own.
std::string Prefix(const std::string& test) {
  return "pid-" + std::to_string(::getpid()) + "/" + test + "/";
}

std::string OpenError(const S3Options& options, ErrorCode expected) {
  auto backend = S3Bucket::Open(options);
  REQUIRE_FALSE(backend);
  CHECK(backend.error().code() == expected);
  const std::string message = backend.error().message();
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.find(options.credentials.secret_access_key) == std::string::npos);
  return message;
}

TEST_CASE("S3 refusals name their cause in one line, never the secret", "[unit][storage][s3]") {
  auto options = Environment();
  if (!options) return;
  REQUIRE(S3Bucket::Open(*options));

  S3Options wrong_secret = *options;
  wrong_secret.credentials.secret_access_key = "not-the-secret-" + options->credentials.access_key_id;
  CHECK_THAT(OpenError(wrong_secret, ErrorCode::kAuthFailed),
             Catch::Contains("refused the credentials"));

  S3Options wrong_key = *options;
  wrong_key.credentials.access_key_id = "AKIDNOSUCHKEY0000000";
  CHECK_THAT(OpenError(wrong_key, ErrorCode::kAuthFailed),
             Catch::Contains("refused the credentials"));

  S3Options no_bucket = *options;
  no_bucket.bucket = "no-such-bucket-here";
  CHECK_THAT(OpenError(no_bucket, ErrorCode::kNotFound), Catch::Contains("no-such-bucket-here"));

  S3Options skewed = *options;
  skewed.clock = [] { return std::chrono::system_clock::now() - std::chrono::hours(1); };
  CHECK_THAT(OpenError(skewed, ErrorCode::kAuthFailed), Catch::Contains("clock"));

  S3Options dead = *options;
  dead.endpoint = "http://127.0.0.1:1";
  dead.timeout_seconds = 2;
  CHECK_THAT(OpenError(dead, ErrorCode::kUnavailable), Catch::Contains("no answer"));

  S3Options bad = *options;
  bad.endpoint = "ftp://127.0.0.1";
  CHECK(OpenError(bad, ErrorCode::kInvalidArgument).find("endpoint") != std::string::npos);
}

TEST_CASE("an S3 listing pages past 1000 keys and skips foreign ones", "[unit][storage][s3]") {
  auto options = Environment();
  if (!options) return;
  auto bucket = S3Bucket::Open(*options).value();
  auto backend = std::make_unique<S3Backend>(bucket, Prefix("paging"));
  std::set<std::string> saved;
  for (int i = 0; i < 1100; ++i) {
    const std::string body = "snapshot " + std::to_string(i);
    const std::string name = HexEncode(crypto::Sha256(AsBytes(body)));
    REQUIRE(backend->Save({ObjectKind::kSnapshot, name}, AsBytes(body)).ok());
    saved.insert(name);
  }
  // A key another tool left under the prefix ("snapshots/sub/config",
  // written here through a backend one level down) is no object of ours.
  S3Backend below(bucket, Prefix("paging") + "snapshots/sub/");
  REQUIRE(below.Save({ObjectKind::kConfig, "config"}, AsBytes("x")).ok());
  std::set<std::string> listed;
  REQUIRE(backend->List(ObjectKind::kSnapshot, [&](const ObjectInfo& info) {
    listed.insert(info.name);
    return Status::Ok();
  }).ok());
  CHECK(listed == saved);
}

TEST_CASE("an S3 stream of another length than announced leaves nothing", "[unit][storage][s3]") {
  auto options = Environment();
  if (!options) return;
  auto backend = S3Backend::Open(*options, Prefix("length")).value();
  const Bytes data(300'000, 7);
  const ObjectName object{ObjectKind::kData, HexEncode(crypto::Sha256(data))};
  {
    auto writer = backend->NewWriter(object, data.size() + 1);
    REQUIRE(writer);
    REQUIRE((*writer)->Write(data).ok());
    CHECK((*writer)->Commit().code() == ErrorCode::kInvalidArgument);
  }
  CHECK(backend->Stat(object).error().code() == ErrorCode::kNotFound);
  auto writer = backend->NewWriter(object, data.size() - 1);
  REQUIRE(writer);
  CHECK((*writer)->Write(data).code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace coffre::storage::s3
