// The S3 server tests run against: the real Ceph RADOS Gateway that
// scripts/rgw.sh starts, named by COFFRE_S3_ENDPOINT, _REGION, _ACCESS_KEY
// and _SECRET_KEY (`scripts/rgw.sh env`; scripts/test.sh exports them).
#pragma once

#include <optional>
#include <string>

#include "core/storage/s3/s3_bucket.h"

namespace coffre::testing {

// Its options for `bucket`, created if it was not there. Without a server
// named: nullopt and a Catch2 warning, or a failure when COFFRE_REQUIRE_S3=1
// (CI must not skip S3). A bucket that cannot be created fails the test.
std::optional<storage::s3::S3Options> TestS3Server(const std::string& bucket);

}  // namespace coffre::testing
