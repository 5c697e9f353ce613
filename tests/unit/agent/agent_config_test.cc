// The agent's TOML configuration: the full example of the contract parses
// into the right values, and each kind of mistake is refused with one line
// naming the file, line, job and key.
#include "agent/daemon/agent_config.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace coffre::daemon {
namespace {

const char* const kFullExample = R"(
[agent]
state_dir = "/var/lib/coffre-agent"
log_level = "info"
nice = 10
ionice = "idle"
limit_upload = "20MiB"
max_parallel_jobs = 2

[[job]]
name = "server"
repo = "https://vault.example.fr:8443/acme/server1"
password_file = "/etc/coffre/passphrase"
token_file = "/etc/coffre/token"
cacert = "/etc/coffre/vault.pem"
paths = ["/etc", "/home", "/srv"]
exclude = ["*.tmp", "/home/*/.cache"]
exclude_file = ["/etc/coffre/excludes"]
exclude_if_present = [".nobackup"]
exclude_caches = true
one_file_system = true
tags = ["nightly"]
compression = 3
schedule = "daily 02:30"
limit_upload = "10MiB"

[job.retention]
keep_last = 3
keep_hourly = 0
keep_daily = 7
keep_weekly = 4
keep_monthly = 12
keep_yearly = 2
keep_within = "2d"
keep_tag = ["keep"]
prune = true

[job.hooks]
before = "/usr/local/bin/stop-app"
after = "/usr/local/bin/start-app"
timeout = "1h"

[[job.dump]]
path = "/var/backups/app.sql"
command = "pg_dump --clean app"

[[job]]
name = "local-db"
repo = "/srv/backup/repo"
password_file = "/etc/coffre/local-pass"
schedule = "Mon..Fri *-*-* 12:00 UTC"

[[job.dump]]
path = "/dumps/db.sql"
command = "mysqldump --all-databases"
)";

TEST_CASE("the contract's full example parses into every setting", "[unit][agent_config]") {
  auto parsed = ParseAgentConfig(kFullExample, "agent.conf");
  INFO((parsed ? "" : parsed.error().message()));
  REQUIRE(parsed);
  const AgentConfig& c = *parsed;
  CHECK(c.origin == "agent.conf");
  CHECK(c.agent.state_dir == "/var/lib/coffre-agent");
  CHECK(c.agent.log_level == LogLevel::kInfo);
  CHECK(c.agent.nice == 10);
  CHECK(FormatIoPriority(c.agent.ionice) == "idle");
  CHECK(c.agent.limit_upload == 20u << 20);
  CHECK(c.agent.max_parallel_jobs == 2);
  REQUIRE(c.jobs.size() == 2);

  const JobConfig& s = c.jobs[0];
  CHECK(s.name == "server");
  CHECK(s.repo == "https://vault.example.fr:8443/acme/server1");
  CHECK(s.password_file == "/etc/coffre/passphrase");
  CHECK(s.token_file == "/etc/coffre/token");
  CHECK(s.cacert == "/etc/coffre/vault.pem");
  CHECK(s.paths == std::vector<std::string>{"/etc", "/home", "/srv"});
  CHECK(s.exclude == std::vector<std::string>{"*.tmp", "/home/*/.cache"});
  CHECK(s.exclude_file == std::vector<std::string>{"/etc/coffre/excludes"});
  CHECK(s.exclude_if_present == std::vector<std::string>{".nobackup"});
  CHECK(s.exclude_caches);
  CHECK(s.one_file_system);
  CHECK(s.tags == std::vector<std::string>{"nightly"});
  CHECK(s.compression == 3);
  CHECK(s.schedule.text == "daily 02:30");
  CHECK(s.schedule.Normalized() == "*-*-* 02:30:00");
  CHECK(s.limit_upload == 10u << 20);
  REQUIRE(s.retention);
  CHECK(s.retention->policy.keep_last == 3);
  CHECK(s.retention->policy.keep_daily == 7);
  CHECK(s.retention->policy.keep_weekly == 4);
  CHECK(s.retention->policy.keep_monthly == 12);
  CHECK(s.retention->policy.keep_yearly == 2);
  CHECK(s.retention->policy.keep_within_ns == int64_t{2} * 86400 * 1'000'000'000);
  CHECK(s.retention->policy.keep_tags == std::vector<std::string>{"keep"});
  CHECK(s.retention->prune);
  CHECK(s.hooks.before == "/usr/local/bin/stop-app");
  CHECK(s.hooks.after == "/usr/local/bin/start-app");
  CHECK(s.hooks.timeout_seconds == 3600);
  REQUIRE(s.dumps.size() == 1);
  CHECK(s.dumps[0].path == "/var/backups/app.sql");
  CHECK(s.dumps[0].command == "pg_dump --clean app");

  const JobConfig& l = c.jobs[1];
  CHECK(l.name == "local-db");
  CHECK(l.token_file.empty());
  CHECK(l.paths.empty());
  CHECK_FALSE(l.compression);
  CHECK_FALSE(l.limit_upload);
  CHECK_FALSE(l.retention);
  CHECK(l.schedule.utc);
  CHECK(l.hooks.before.empty());
  CHECK(c.FindJob("local-db") == &l);
  CHECK(c.FindJob("nope") == nullptr);
}

TEST_CASE("an empty configuration gives the defaults and no jobs", "[unit][agent_config]") {
  auto parsed = ParseAgentConfig("", "agent.conf");
  REQUIRE(parsed);
  CHECK(parsed->jobs.empty());
  CHECK(parsed->agent.state_dir == "/var/lib/coffre-agent");
  CHECK(parsed->agent.log_level == LogLevel::kInfo);
  CHECK(FormatIoPriority(parsed->agent.ionice) == "none");
  CHECK(parsed->agent.limit_upload == 0);
}

const char* const kJob = R"(
[[job]]
name = "web"
repo = "/srv/repo"
password_file = "/etc/coffre/pass"
paths = ["/var/www"]
schedule = "daily 02:30"
)";

// kJob with the line of key `drop` removed, then `extra` appended (TOML
// refuses a key given twice).
std::string JobWith(const std::string& extra, const std::string& drop = "") {
  std::string out;
  size_t begin = 0;
  const std::string text = kJob;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin) + 1;
    const std::string line = text.substr(begin, end - begin);
    if (drop.empty() || line.rfind(drop + " =", 0) != 0) out += line;
    begin = end;
  }
  return out + extra;
}

struct Mistake {
  std::string toml;
  std::string message;
};

TEST_CASE("each kind of mistake is refused with one line naming where it is",
          "[unit][agent_config]") {
  const std::string job = kJob;
  const std::vector<Mistake> mistakes = {
      {"[agnet]\nnice = 1\n", "agent.conf line 1: agnet: unknown key"},
      {"[agent]\nnicee = 1\n", "agent.conf line 2: agent.nicee: unknown key"},
      {"[agent]\nnice = 20\n", "agent.nice: must be an integer from 0 to 19"},
      {"[agent]\nstate_dir = \"state\"\n", "agent.state_dir: 'state' must be an absolute path"},
      {"[agent]\nlog_level = \"loud\"\n", "agent.log_level: 'loud' is not a log level"},
      {"[agent]\nionice = \"best-effort:9\"\n", "agent.ionice: "},
      {"[agent]\nlimit_upload = \"fast\"\n", "agent.limit_upload: must be a size"},
      {"[agent]\nmax_parallel_jobs = 0\n", "max_parallel_jobs: must be an integer from 1 to 16"},
      {"[agent\n", "agent.conf line 1: not valid TOML"},
      {(job + "schedul = \"daily\"\n"), "line 8: job 'web': schedul: unknown key"},
      {(job + "[[job]]\nrepo = \"/r\"\n"), "job #2: name is missing"},
      {(job + job), "job #2: name 'web' is used by another job"},
      {"[[job]]\nname = \"Web!\"\n", "job #1: name 'Web!' must be 1 to 64 of a-z 0-9 _ -"},
      {"[[job]]\nname = \"web\"\n", "job 'web': repo is missing"},
      {"[job]\nname = \"web\"\n", "job: must be an array of tables ([[job]])"},
      {(job + "compression = 25\n"), "job 'web': compression: must be an integer from 1"},
      {(job + "token_file = \"token\"\n"),
       "job 'web': token_file: 'token' must be an absolute path"},
      {JobWith("repo = \"repo\"\n", "repo"), "repo: 'repo' must be https://HOST:PORT/TENANT/REPO"},
      {JobWith("repo = \"https://v:8443/t/r\"\n", "repo"),
       "job 'web': token_file is missing (a vault repository needs a token)"},
      {JobWith("paths = \"/etc\"\n", "paths"), "job 'web': paths: must be an array of strings"},
      {JobWith("paths = [\"etc\"]\n", "paths"), "job 'web': paths: 'etc' must be an absolute path"},
      {(job + "exclude_if_present = [\"a/b\"]\n"), "'a/b' must be a file name"},
      {(job + "one_file_system = \"yes\"\n"), "one_file_system: must be true or false"},
      {JobWith("schedule = \"daily 25:00\"\n", "schedule"),
       "job 'web': schedule: calendar expression 'daily 25:00': hour '25' is out of range"},
      {JobWith("schedule = \"2020-01-01\"\n", "schedule"), "'2020-01-01' never elapses"},
      {(job + "[job.retention]\nkeep_daily = -1\n"),
       "job 'web': retention.keep_daily: must be an integer from 0"},
      {(job + "[job.retention]\nkeep_within = \"2x\"\n"),
       "job 'web': retention.keep_within: '2x' is not a duration"},
      {(job + "[job.retention]\nprune = true\n"), "job 'web': retention: keeps nothing"},
      {(job + "[job.retention]\nkeep_dayly = 7\n"), "retention.keep_dayly: unknown key"},
      {(job + "[job.hooks]\ntimeout = \"5x\"\n"),
       "job 'web': hooks.timeout: '5x' is not a duration"},
      {(job + "[job.hooks]\nbefore = \"\"\n"), "hooks.before: must not be empty"},
      {(job + "[[job.dump]]\npath = \"db.sql\"\ncommand = \"x\"\n"),
       "job 'web': dump #1.path: 'db.sql' must be an absolute path"},
      {(job + "[[job.dump]]\npath = \"/db.sql\"\n"), "dump #1: command is missing"},
      {(job + "[[job.dump]]\npath = \"/a\"\ncommand = \"x\"\n[[job.dump]]\npath = \"/a\"\n"
              "command = \"y\"\n"),
       "job 'web': dump #2: path '/a' is given twice"},
      {(job + "exclude = [\"[abc\"]\n"), "job 'web': exclude: "},
      {JobWith("paths = [\"/srv\"]\n[[job.dump]]\npath = \"/srv/db.sql\"\ncommand = \"x\"\n",
               "paths"),
       "job 'web': dump: "},
  };
  for (const Mistake& m : mistakes) {
    INFO(m.toml);
    auto parsed = ParseAgentConfig(m.toml, "agent.conf");
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(parsed.error().message(), Catch::Contains(m.message));
    CHECK_THAT(parsed.error().message(), Catch::StartsWith("agent.conf line "));
    CHECK(parsed.error().message().find('\n') == std::string::npos);
  }
}

TEST_CASE("a configuration file is read from disk, and a missing one is not found",
          "[unit][agent_config]") {
  testing::TempDir dir;
  testing::WriteFile(dir.Sub("agent.conf"), kJob);
  auto loaded = LoadAgentConfig(dir.Sub("agent.conf"));
  REQUIRE(loaded);
  CHECK(loaded->origin == dir.Sub("agent.conf"));
  REQUIRE(loaded->jobs.size() == 1);
  CHECK(loaded->jobs[0].paths == std::vector<std::string>{"/var/www"});

  testing::WriteFile(dir.Sub("bad.conf"), std::string(kJob) + "nice = 3\n");
  auto bad = LoadAgentConfig(dir.Sub("bad.conf"));
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message(), Catch::StartsWith(dir.Sub("bad.conf") + " line 8: job 'web'"));

  auto missing = LoadAgentConfig(dir.Sub("none.conf"));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == ErrorCode::kNotFound);
}

TEST_CASE("log levels and hook timeouts parse their documented forms", "[unit][agent_config]") {
  CHECK(*ParseLogLevel("debug") == LogLevel::kDebug);
  CHECK(std::string(LogLevelName(LogLevel::kWarning)) == "warning");
  CHECK(*ParseHookTimeout("90s") == 90);
  CHECK(*ParseHookTimeout("30m") == 1800);
  CHECK(*ParseHookTimeout("1h30m") == 5400);
  CHECK(*ParseHookTimeout("7d") == 7 * 86400);
  CHECK(*ParseHookTimeout("90") == 90);
  for (const char* bad : {"", "0", "0s", "8d", "1h-", "h", "-5s", "1.5h"}) {
    INFO(bad);
    CHECK_FALSE(ParseHookTimeout(bad));
  }
}

TEST_CASE("a configuration that is not UTF-8 is refused before the TOML parser reads it",
          "[unit][agent_config]") {
  // The fuzzer's input that made toml11 read out of bounds: a literal key
  // holding byte 0xC0.
  const std::string hostile = std::string("#\ta\n'zz\xC0zz'E") + std::string(7, '\0') + "[1";
  for (const std::string& text : {hostile, std::string("a = 1\nb = \"\xE2\x82\"\n"),
                                   std::string("x = 1\0", 6)}) {
    auto parsed = ParseAgentConfig(text, "agent.conf");
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(parsed.error().message(), Catch::Contains("not UTF-8"));
  }
  CHECK(ParseAgentConfig("# caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x92\xBE\n", "agent.conf"));
}

}  // namespace
}  // namespace coffre::daemon
