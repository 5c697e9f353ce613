// SnapshotFilter: host, exact set of paths, every tag.
#include "agent/repo/snapshot_filter.h"

#include <catch2/catch.hpp>

namespace coffre::repo {
namespace {

format::Snapshot Snap(std::string host, std::vector<std::string> paths,
                      std::vector<std::string> tags) {
  format::Snapshot s;
  s.host = std::move(host);
  s.paths = std::move(paths);
  s.tags = std::move(tags);
  return s;
}

TEST_CASE("an empty snapshot filter matches every snapshot", "[unit][snapshot_filter]") {
  SnapshotFilter f;
  CHECK(f.Empty());
  CHECK(f.Matches(Snap("a", {"/x"}, {})));
  CHECK(f.Matches(Snap("", {}, {"t"})));
}

TEST_CASE("a snapshot filter's paths are an exact set, not a subset", "[unit][snapshot_filter]") {
  SnapshotFilter f;
  f.paths = {"/srv", "/etc"};
  CHECK(f.Matches(Snap("h", {"/etc", "/srv"}, {})));
  CHECK(f.Matches(Snap("h", {"/srv", "/etc", "/srv"}, {})));
  CHECK_FALSE(f.Matches(Snap("h", {"/etc"}, {})));
  CHECK_FALSE(f.Matches(Snap("h", {"/etc", "/srv", "/home"}, {})));
}

TEST_CASE("a snapshot filter needs the host and every tag", "[unit][snapshot_filter]") {
  SnapshotFilter f;
  f.host = "srv-compta";
  f.tags = {"coffre-job:nightly", "db"};
  CHECK(f.Matches(Snap("srv-compta", {"/x"}, {"db", "other", "coffre-job:nightly"})));
  CHECK_FALSE(f.Matches(Snap("srv-compta", {"/x"}, {"coffre-job:nightly"})));
  CHECK_FALSE(f.Matches(Snap("srv-web", {"/x"}, {"db", "coffre-job:nightly"})));
}

}  // namespace
}  // namespace coffre::repo
