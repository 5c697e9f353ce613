// status.json: a full status survives a write and a read, the write leaves
// no temporary file, bad files are refused by name, and the ISO 8601
// helpers agree with each other.
#include "agent/daemon/agent_status.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "tests/support/scoped_tz.h"
#include "tests/support/temp_dir.h"

namespace coffre::daemon {
namespace {

using testing::ScopedTz;

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}

AgentStatus Example() {
  AgentStatus s;
  s.pid = 4321;
  s.started = 1'795'900'000;
  s.since = 1'790'000'000;
  s.config = "/etc/coffre/agent.conf";
  s.updated = 1'795'901'234;
  JobStatus server;
  server.name = "server";
  server.repo = "https://vault.example.fr:8443/acme/server1";
  server.schedule = "daily 02:30";
  server.running = true;
  server.next_run = 1'796'002'200;  // 2026-11-30T01:30:00Z
  LastRun run;
  run.started = 1'795'913'400;
  run.finished = 1'795'913'465;
  run.duration_ms = 65'123;
  run.outcome = "partial";
  run.exit_code = 3;
  run.error = "2 entries could not be read";
  run.snapshot = "ab12cd34";
  run.files = 10;
  run.bytes = 123'456'789'012;
  run.new_bytes = 45;
  server.last_run = run;
  JobStatus fresh;
  fresh.name = "fresh";
  fresh.repo = "/srv/repo";
  fresh.schedule = "2020-01-01";
  s.jobs = {server, fresh};
  return s;
}

void CheckSame(const AgentStatus& a, const AgentStatus& b) {
  CHECK(a.version == b.version);
  CHECK(a.pid == b.pid);
  CHECK(a.started == b.started);
  CHECK(a.since == b.since);
  CHECK(a.config == b.config);
  CHECK(a.updated == b.updated);
  REQUIRE(a.jobs.size() == b.jobs.size());
  for (size_t i = 0; i < a.jobs.size(); ++i) {
    const JobStatus& x = a.jobs[i];
    const JobStatus& y = b.jobs[i];
    CHECK(x.name == y.name);
    CHECK(x.repo == y.repo);
    CHECK(x.schedule == y.schedule);
    CHECK(x.running == y.running);
    CHECK(x.next_run == y.next_run);
    REQUIRE(x.last_run.has_value() == y.last_run.has_value());
    if (!x.last_run) continue;
    CHECK(x.last_run->started == y.last_run->started);
    CHECK(x.last_run->finished == y.last_run->finished);
    CHECK(x.last_run->duration_ms == y.last_run->duration_ms);
    CHECK(x.last_run->outcome == y.last_run->outcome);
    CHECK(x.last_run->exit_code == y.last_run->exit_code);
    CHECK(x.last_run->error == y.last_run->error);
    CHECK(x.last_run->snapshot == y.last_run->snapshot);
    CHECK(x.last_run->files == y.last_run->files);
    CHECK(x.last_run->bytes == y.last_run->bytes);
    CHECK(x.last_run->new_bytes == y.last_run->new_bytes);
  }
}

TEST_CASE("a status written to the state dir reads back the same", "[unit][agent_status]") {
  ScopedTz tz("Europe/Paris");
  testing::TempDir dir;
  const std::string state = dir.Sub("state");  // created by the write
  REQUIRE(WriteStatusFile(state, Example()).ok());
  auto read = ReadStatusFile(state);
  REQUIRE(read);
  CheckSame(*read, Example());

  // A rewrite replaces the file, and no temporary stays behind.
  AgentStatus second = Example();
  second.jobs.pop_back();
  second.jobs[0].running = false;
  REQUIRE(WriteStatusFile(state, second).ok());
  CHECK(Names(state) == std::vector<std::string>{"status.json"});
  auto reread = ReadStatusFile(state);
  REQUIRE(reread);
  CheckSame(*reread, second);
  struct stat st;
  REQUIRE(::stat((state + "/status.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("the status file uses the documented keys and time forms", "[unit][agent_status]") {
  ScopedTz tz("Europe/Paris");
  const std::string json = EncodeStatus(Example());
  CHECK_THAT(json, Catch::StartsWith("{\"version\":1,\"pid\":4321,\"started\":\"2026-11-28"));
  CHECK_THAT(json, Catch::Contains("\"next_run\":\"2026-11-30T02:30:00+01:00\""));
  CHECK_THAT(json, Catch::Contains("\"outcome\":\"partial\",\"exit_code\":3"));
  CHECK_THAT(json, Catch::Contains("\"name\":\"fresh\",\"repo\":\"/srv/repo\","
                                   "\"schedule\":\"2020-01-01\",\"running\":false,"
                                   "\"next_run\":null,\"last_run\":null}"));
  CHECK(json.find('\n') == std::string::npos);
}

TEST_CASE("a missing, damaged or newer status file is refused", "[unit][agent_status]") {
  testing::TempDir dir;
  auto missing = ReadStatusFile(dir.path());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == ErrorCode::kNotFound);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{\"version\":1,", "not valid JSON"},
      {"[1,2]", "status is not an object"},
      {"{\"pid\":1}", "no version"},
      {"{\"version\":1,\"pid\":\"x\"}", "status.pid has the wrong type"},
      {"{\"version\":1,\"updated\":\"yesterday\"}", "status.updated has the wrong type"},
      {"{\"version\":1,\"jobs\":{}}", "status.jobs is not an array"},
      {"{\"version\":1,\"jobs\":[{\"running\":1}]}", "status.jobs[0].running has the wrong"},
      {"{\"version\":1,\"jobs\":[{\"last_run\":{\"files\":\"9\"}}]}",
       "status.jobs[0].last_run.files has the wrong"},
  };
  for (const auto& [text, message] : bad) {
    INFO(text);
    testing::WriteFile(dir.Sub("status.json"), text);
    auto read = ReadStatusFile(dir.path());
    REQUIRE_FALSE(read);
    CHECK(read.error().code() == ErrorCode::kCorruption);
    CHECK_THAT(read.error().message(), Catch::Contains(message));
    CHECK_THAT(read.error().message(), Catch::Contains(dir.Sub("status.json")));
  }
  testing::WriteFile(dir.Sub("status.json"), "{\"version\":2}");
  auto newer = ReadStatusFile(dir.path());
  REQUIRE_FALSE(newer);
  CHECK(newer.error().code() == ErrorCode::kUnsupportedVersion);
}

TEST_CASE("a status with unknown keys and missing optional ones is read", "[unit][agent_status]") {
  auto s = DecodeStatus(R"({"version":1,"pid":7,"future":{"x":1},"jobs":[{"name":"a"}]})");
  REQUIRE(s);
  CHECK(s->pid == 7);
  REQUIRE(s->jobs.size() == 1);
  CHECK(s->jobs[0].name == "a");
  CHECK_FALSE(s->jobs[0].next_run);
  CHECK_FALSE(s->jobs[0].last_run);
}

TEST_CASE("ISO 8601 times format in UTC and local time and parse back", "[unit][agent_status]") {
  ScopedTz tz("Europe/Paris");
  const int64_t t = 1'795'915'800;  // 2026-11-29T01:30:00Z
  CHECK(FormatUtcTime(t) == "2026-11-29T01:30:00Z");
  CHECK(FormatLocalTime(t) == "2026-11-29T02:30:00+01:00");
  CHECK(FormatLocalTime(t - 99 * 86400) == "2026-08-22T03:30:00+02:00");
  CHECK(ParseIsoTime("2026-11-29T01:30:00Z") == t);
  CHECK(ParseIsoTime("2026-11-29T02:30:00+01:00") == t);
  CHECK(ParseIsoTime("2026-11-28T20:30:00-0500") == t);
  CHECK(ParseIsoTime("2026-11-29T01:30:00.123456789Z") == t);
  for (const char* bad : {"", "2026-11-29", "2026-11-29T01:30:00", "2026-13-29T01:30:00Z",
                          "2026-11-29T01:30:00+1", "2026-11-29T01:30:00 UTC", "yesterday"}) {
    INFO(bad);
    CHECK_FALSE(ParseIsoTime(bad));
  }
}

TEST_CASE("recording one job's run keeps the daemon's fields and the other jobs",
          "[unit][agent_status]") {
  testing::TempDir dir;
  AgentStatus daemon;
  daemon.pid = 4242;
  daemon.since = 1000;
  daemon.config = "/etc/coffre/agent.conf";
  JobStatus other;
  other.name = "other";
  daemon.jobs.push_back(other);
  REQUIRE(WriteStatusFile(dir.path(), daemon).ok());
  JobStatus mine;
  mine.name = "nightly";
  LastRun run;
  run.started = 2000;
  run.finished = 2001;
  run.outcome = "success";
  run.trigger = "manual";
  mine.last_run = run;
  REQUIRE(RecordJobStatus(dir.path(), mine).ok());
  run.outcome = "partial";
  mine.last_run = run;
  REQUIRE(RecordJobStatus(dir.path(), mine).ok());  // replaces, not appends
  auto back = ReadStatusFile(dir.path());
  REQUIRE(back);
  CHECK(back->pid == 4242);
  CHECK(back->since == 1000);
  REQUIRE(back->jobs.size() == 2);
  CHECK(back->jobs[0].name == "other");
  CHECK(back->jobs[1].name == "nightly");
  CHECK(back->jobs[1].last_run->outcome == "partial");
  CHECK(back->jobs[1].last_run->trigger == "manual");
}

TEST_CASE("a live process is alive, a reaped one and pid 0 are not", "[unit][agent_status]") {
  CHECK(ProcessAlive(::getpid()));
  CHECK(ProcessAlive(1));  // init: alive though we may not signal it
  CHECK_FALSE(ProcessAlive(0));
  CHECK_FALSE(ProcessAlive(-5));
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK_FALSE(ProcessAlive(child));
}

}  // namespace
}  // namespace coffre::daemon
