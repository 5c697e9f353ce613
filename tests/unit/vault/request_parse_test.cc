// The vault's reading of a request target and a Range header: every path a
// client may send either names exactly one route with valid names, or is
// refused (400) before any handler or file sees it; ranges are one
// satisfiable "bytes=FIRST-[LAST]" or nothing.
#include "vault/api/request_parse.h"

#include <catch2/catch.hpp>

namespace coffre::vault {
namespace {

const std::string kHash(64, 'a');

TEST_CASE("ParseRequestTarget names each route and its parts", "[unit][vault]") {
  auto health = ParseRequestTarget("/v1/health");
  REQUIRE(health);
  CHECK(health->route == RequestTarget::Route::kHealth);
  CHECK(ParseRequestTarget("/metrics")->route == RequestTarget::Route::kMetrics);
  auto repo = ParseRequestTarget("/v1/repos/acme/main");
  REQUIRE(repo);
  CHECK(repo->route == RequestTarget::Route::kRepo);
  CHECK(repo->tenant == "acme");
  CHECK(repo->repo == "main");
  auto list = ParseRequestTarget("/v1/repos/acme/main/snapshots/");
  REQUIRE(list);
  CHECK(list->route == RequestTarget::Route::kList);
  CHECK(list->kind == "snapshots");
  auto object = ParseRequestTarget("/v1/repos/acme/main/data/" + kHash);
  REQUIRE(object);
  CHECK(object->route == RequestTarget::Route::kObject);
  CHECK(object->kind == "data");
  CHECK(object->name == kHash);
  auto config = ParseRequestTarget("/v1/repos/a-1/b_2/config/config");
  REQUIRE(config);
  CHECK(config->name == "config");
}

TEST_CASE("a listing alone takes a page's limit and the name it starts after", "[unit][vault]") {
  const std::string list = "/v1/repos/acme/main/data/";
  auto plain = ParseRequestTarget(list);
  REQUIRE(plain);
  CHECK(plain->list_limit == 0);
  CHECK(plain->list_after.empty());
  auto page = ParseRequestTarget(list + "?limit=500&after=" + kHash);
  REQUIRE(page);
  CHECK(page->route == RequestTarget::Route::kList);
  CHECK(page->list_limit == 500);
  CHECK(page->list_after == kHash);
  auto reversed = ParseRequestTarget(list + "?after=" + kHash + "&limit=1");
  REQUIRE(reversed);
  CHECK(reversed->list_limit == 1);
  for (const std::string& bad :
       {list + "?", list + "?limit=0", list + "?limit=1000001", list + "?limit=-1",
        list + "?limit=1x", list + "?limit=", list + "?after=" + kHash,
        list + "?limit=1&limit=2", list + "?limit=1&after=../x", list + "?limit=1&after=A",
        list + "?limit=1&other=2", list + "?limit=1&", list + "?limit", list + "?limit=1?x",
        list + "?limit=1#x", std::string("/v1/repos/acme/main/?limit=1"),
        "/v1/repos/acme/main/data/" + kHash + "?limit=1", std::string("/v1/repos/acme/main?limit=1")}) {
    INFO(bad);
    auto parsed = ParseRequestTarget(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("ParseRequestTarget refuses traversal, encoding and malformed names",
          "[unit][vault]") {
  const std::string base = "/v1/repos/acme/main/";
  const std::vector<std::string> bad = {
      "",
      "v1/health",
      "https://host/v1/health",
      "//v1/health",
      "/v1//health",
      "/v1/health/",
      "/v1/health?x=1",
      "/v1/health#x",
      "/v1/repos/acme/../other/data/" + kHash,
      "/v1/repos/acme/main/../../other/main",
      "/v1/repos/acme/./main",
      "/v1/repos/%2e%2e/main",
      "/v1/repos/acme%2fother/main",
      "/v1/repos/acme/main/data/%41" + kHash.substr(3),
      "/v1/repos//main",
      "/v1/repos/acme//data/" + kHash,
      "/v1/repos/acme/main//" + kHash,
      base + "data//" + kHash,
      base + "data/" + kHash + "/",
      base + "data/" + kHash + "/x",
      "/v1/repos/Acme/main",
      "/v1/repos/acme/Main",
      "/v1/repos/-acme/main",
      "/v1/repos/" + std::string(64, 'a') + "/main",
      "/v1/repos/acme",
      "/v1/repos/acme/main/data",
      base + "DATA/" + kHash,
      base + "blobs/" + kHash,
      base + "data/" + std::string(64, 'A'),
      base + "data/" + std::string(63, 'a'),
      base + "data/" + std::string(65, 'a'),
      base + "data/" + std::string(64, 'g'),
      base + "data/config",
      base + "config/" + kHash,
      base + "config/Config",
      base + "data/" + kHash.substr(1) + "\\",
      base + "data/" + kHash.substr(1) + " ",
      base + "data/" + kHash.substr(1) + "\x7f",
      base + "data/" + kHash.substr(1) + "\xc3",
      std::string("/v1/repos/acme/main\0/data/", 26) + kHash,
      "/v1/" + std::string(300, 'a'),
      "/v1/nothing",
      "/metrics/",
      "/metrics/x",
  };
  for (const std::string& target : bad) {
    INFO(target);
    auto parsed = ParseRequestTarget(target);
    REQUIRE(!parsed);
    CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
    CHECK(parsed.error().message().size() < 120);
  }
}

TEST_CASE("ParseRequestTarget answers a clean unknown path as not found", "[unit][vault]") {
  for (const char* target : {"/", "/index.html", "/v2/health"}) {
    INFO(target);
    auto parsed = ParseRequestTarget(target);
    REQUIRE(!parsed);
    CHECK(parsed.error().code() == ErrorCode::kNotFound);
  }
}

TEST_CASE("ParseRangeHeader takes one satisfiable range and clips its end", "[unit][vault]") {
  auto r = ParseRangeHeader("bytes=0-9", 100);
  REQUIRE(r);
  CHECK(r->first == 0);
  CHECK(r->length == 10);
  r = ParseRangeHeader("bytes=90-", 100);
  REQUIRE(r);
  CHECK(r->first == 90);
  CHECK(r->length == 10);
  r = ParseRangeHeader("bytes=99-1000", 100);
  REQUIRE(r);
  CHECK(r->length == 1);
  r = ParseRangeHeader("bytes=5-5", 6);
  REQUIRE(r);
  CHECK(r->first == 5);
  CHECK(r->length == 1);
}

TEST_CASE("ParseRangeHeader refuses every other form", "[unit][vault]") {
  for (const char* header :
       {"", "bytes=", "bytes=-", "bytes=-5", "bytes=5", "bytes=a-b", "bytes=1-a", "bytes= 1-2",
        "bytes=1 -2", "bytes=+1-2", "bytes=1-+2", "bytes=0-1,3-4", "items=0-1", "Bytes=0-1",
        "bytes=10-5", "bytes=100-", "bytes=100-200", "bytes=18446744073709551616-",
        "bytes=0-18446744073709551616"}) {
    INFO(header);
    CHECK(!ParseRangeHeader(header, 100));
  }
  CHECK(!ParseRangeHeader("bytes=0-", 0));  // nothing to give of an empty object
}

}  // namespace
}  // namespace coffre::vault
