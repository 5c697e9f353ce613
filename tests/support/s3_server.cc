#include "tests/support/s3_server.h"

#include <cstdlib>

#include <catch2/catch.hpp>

namespace coffre::testing {

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

std::optional<storage::s3::S3Options> TestS3Server(const std::string& bucket) {
  if (Env("COFFRE_S3_ENDPOINT").empty()) {
    if (Env("COFFRE_REQUIRE_S3") == "1")
      FAIL("COFFRE_REQUIRE_S3=1 but no COFFRE_S3_ENDPOINT: start scripts/rgw.sh");
    WARN("no COFFRE_S3_ENDPOINT: the S3 storage is not tested here (scripts/rgw.sh starts one)");
    return std::nullopt;
  }
  storage::s3::S3Options options;
  options.endpoint = Env("COFFRE_S3_ENDPOINT");
  options.region = Env("COFFRE_S3_REGION").empty() ? "default" : Env("COFFRE_S3_REGION");
  options.credentials.access_key_id = Env("COFFRE_S3_ACCESS_KEY");
  options.credentials.secret_access_key = Env("COFFRE_S3_SECRET_KEY");
  options.bucket = bucket;
  Status created = storage::s3::S3Bucket::Create(options);
  if (!created.ok() && created.code() != ErrorCode::kAlreadyExists)
    FAIL("create the test bucket: " << created.message());
  return options;
}

}  // namespace coffre::testing
