#include "vault/audit/file_audit_log.h"

#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace coffre::vault {
namespace {

using coffre::testing::ReadFile;
using coffre::testing::TempDir;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// "2024-05-01T12:34:56.789Z". (No std::regex: GCC 12 warns inside it under
// the sanitizer flags.)
bool IsRfc3339Millis(const std::string& t) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (t.size() != shape.size()) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(t[i])) : t[i] != shape[i]) {
      return false;
    }
  }
  return true;
}

TEST_CASE("audit log appends one JSON object per event with the documented fields",
          "[unit][vault]") {
  TempDir dir;
  const std::string path = dir.Sub("audit.log");
  {
    auto log = FileAuditLog::Open(path);
    REQUIRE(log);
    REQUIRE((*log)->Record({"acme", "0123456789abcdef", "put", "laptop", "data/3af0", 201}).ok());
    REQUIRE((*log)->Record({"acme", "", "delete", "laptop", "keys/77", 401}).ok());
  }
  {  // A reopened log appends, never truncates.
    auto log = FileAuditLog::Open(path);
    REQUIRE(log);
    REQUIRE((*log)->Record({"bolt", "fedcba9876543210", "create_repo", "srv", "", 409}).ok());
  }
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  const std::string text = ReadFile(path);
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  auto lines = Lines(text);
  REQUIRE(lines.size() == 3);
  auto first = nlohmann::json::parse(lines[0]);
  CHECK(first.size() == 7);
  CHECK(first["tenant"] == "acme");
  CHECK(first["token"] == "0123456789abcdef");
  CHECK(first["action"] == "put");
  CHECK(first["repo"] == "laptop");
  CHECK(first["object"] == "data/3af0");
  CHECK(first["status"] == 201);
  CHECK(IsRfc3339Millis(first["time"].get<std::string>()));
  CHECK(nlohmann::json::parse(lines[1])["token"] == "");
  CHECK(nlohmann::json::parse(lines[1])["status"] == 401);
  CHECK(nlohmann::json::parse(lines[2])["action"] == "create_repo");
}

TEST_CASE("audit log keeps hostile names inside their JSON strings", "[unit][vault]") {
  TempDir dir;
  auto log = FileAuditLog::Open(dir.Sub("audit.log"));
  REQUIRE(log);
  // A newline must not start a forged record; invalid UTF-8 must not throw.
  const std::string forged = "x\"}\n{\"tenant\":\"root";
  REQUIRE((*log)->Record({forged, "", "put", "r\xff\xfe", "data/..%2f", 400}).ok());
  auto lines = Lines(ReadFile(dir.Sub("audit.log")));
  REQUIRE(lines.size() == 1);
  auto j = nlohmann::json::parse(lines[0]);
  CHECK(j["tenant"] == forged);
  CHECK(j["status"] == 400);
}

TEST_CASE("audit log lines from eight threads never interleave", "[unit][vault][tsan]") {
  TempDir dir;
  auto log = FileAuditLog::Open(dir.Sub("audit.log"));
  REQUIRE(log);
  constexpr int kThreads = 8, kRecords = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Long, distinct fields make a torn or interleaved line visible.
      const std::string tenant = "tenant" + std::to_string(t) + std::string(300, 'a' + t);
      for (int i = 0; i < kRecords; ++i) {
        if (!(*log)
                 ->Record({tenant, "tok", "put", "repo", "data/" + std::to_string(i), 201})
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);

  auto lines = Lines(ReadFile(dir.Sub("audit.log")));
  REQUIRE(lines.size() == kThreads * kRecords);
  std::set<std::pair<std::string, std::string>> seen;
  for (const std::string& line : lines) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    REQUIRE_FALSE(j.is_discarded());
    seen.insert({j["tenant"].get<std::string>(), j["object"].get<std::string>()});
  }
  CHECK(seen.size() == kThreads * kRecords);
}

}  // namespace
}  // namespace coffre::vault
