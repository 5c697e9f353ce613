// ChildProcess and RunCommand: exit codes, environment, output lines, captured
// stdout, descriptors the child must not inherit, and stopping a command (its
// whole process group) on Kill, timeout or cancel.
#include "agent/util/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <condition_variable>
#include <mutex>

namespace coffre {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Collects `output` lines; Await blocks until a given line arrived.
struct Lines {
  std::function<void(const std::string&)> Sink() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(line);
      cv.notify_all();
    };
  }
  bool Await(const std::string& line) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30),
                       [&] { return std::find(lines.begin(), lines.end(), line) != lines.end(); });
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> lines;
};

int Run(const std::string& command, Lines* lines = nullptr,
        std::vector<std::pair<std::string, std::string>> env = {}) {
  CommandSpec spec;
  spec.command = command;
  spec.env = std::move(env);
  if (lines != nullptr) spec.output = lines->Sink();
  auto child = ChildProcess::Start(spec);
  REQUIRE(child);
  auto code = (*child)->Wait();
  REQUIRE(code);
  return *code;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

TEST_CASE("a child's exit code is returned as the shell would report it", "[unit][child_process]") {
  CHECK(Run("true") == 0);
  CHECK(Run("exit 3") == 3);
  CHECK(Run("coffre-no-such-command-4711") == 127);

  auto child = ChildProcess::Start({.command = "sleep 60"});
  REQUIRE(child);
  (*child)->Kill(SIGKILL);
  CHECK((*child)->Wait().value() == 128 + SIGKILL);
  CHECK_FALSE((*child)->Wait());  // a second Wait is a caller error
}

TEST_CASE("an empty command is refused", "[unit][child_process]") {
  auto child = ChildProcess::Start({});
  REQUIRE_FALSE(child);
  CHECK(child.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("added variables reach the child and replace inherited ones", "[unit][child_process]") {
  ::setenv("COFFRE_CHILD_TEST_OLD", "old", 1);
  Lines lines;
  CHECK(Run("echo \"$COFFRE_JOB\"; echo \"$COFFRE_CHILD_TEST_OLD\"; "
            "env | grep -c '^COFFRE_CHILD_TEST_OLD='",
            &lines, {{"COFFRE_JOB", "nightly server"}, {"COFFRE_CHILD_TEST_OLD", "new"}}) == 0);
  ::unsetenv("COFFRE_CHILD_TEST_OLD");
  CHECK(lines.lines == std::vector<std::string>{"nightly server", "new", "1"});
}

TEST_CASE("stdout and stderr arrive line by line, long lines in pieces", "[unit][child_process]") {
  Lines lines;
  CHECK(Run("printf 'one\\ntwo\\n'; echo three >&2; "
            "head -c 10000 /dev/zero | tr '\\0' x; echo; printf last",
            &lines) == 0);
  REQUIRE(lines.lines.size() == 7);
  CHECK(lines.lines[0] == "one");
  CHECK(lines.lines[1] == "two");
  CHECK(lines.lines[2] == "three");
  CHECK(lines.lines[3] == std::string(4096, 'x'));
  CHECK(lines.lines[4] == std::string(4096, 'x'));
  CHECK(lines.lines[5] == std::string(10000 - 8192, 'x'));
  CHECK(lines.lines[6] == "last");
}

TEST_CASE("output without a sink is discarded and stdin reads as empty", "[unit][child_process]") {
  CHECK(Run("head -c 1000000 /dev/zero; echo noise >&2") == 0);
  Lines lines;
  CHECK(Run("read line; echo \"read=$?\"", &lines) == 0);
  CHECK(lines.lines == std::vector<std::string>{"read=1"});
}

TEST_CASE("captured stdout is read in full while stderr still goes to output",
          "[unit][child_process]") {
  Lines lines;
  CommandSpec spec;
  spec.command = "echo starting >&2; head -c 10485760 /dev/zero";
  spec.capture_stdout = true;
  spec.output = lines.Sink();
  auto child = ChildProcess::Start(spec);
  REQUIRE(child);
  REQUIRE((*child)->stdout_fd() >= 0);
  uint64_t total = 0;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read((*child)->stdout_fd(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n >= 0);
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
  }
  CHECK(total == 10485760);
  CHECK((*child)->Wait().value() == 0);
  CHECK(lines.lines == std::vector<std::string>{"starting"});
}

TEST_CASE("the child inherits no descriptor of the agent but 0, 1 and 2", "[unit][child_process]") {
  // Opened without O_CLOEXEC, as a careless library would.
  int leaky = ::open("/dev/null", O_RDONLY);
  REQUIRE(leaky > 2);
  Lines lines;
  CHECK(Run("test -e /proc/$$/fd/" + std::to_string(leaky) +
                " && echo inherited || echo closed; "
                "test -e /proc/$$/fd/2 && echo has-stderr",
            &lines) == 0);
  ::close(leaky);
  CHECK(lines.lines == std::vector<std::string>{"closed", "has-stderr"});
}

TEST_CASE("Kill reaches every process of a pipeline", "[unit][child_process]") {
  Lines lines;
  CommandSpec spec;
  spec.command = "sleep 60 | (echo started; exec sleep 60)";
  spec.output = lines.Sink();
  auto child = ChildProcess::Start(spec);
  REQUIRE(child);
  REQUIRE(lines.Await("started"));
  const auto start = Clock::now();
  (*child)->Kill(SIGTERM);
  // Wait also waits for the output pipe to close: a surviving `sleep 60`
  // still holds it, so only a group kill returns quickly.
  CHECK((*child)->Wait().value() == 128 + SIGTERM);
  CHECK(SecondsSince(start) < 20);
}

TEST_CASE("destroying a running child kills and reaps it", "[unit][child_process]") {
  pid_t pid;
  {
    auto child = ChildProcess::Start({.command = "sleep 60"});
    REQUIRE(child);
    pid = (*child)->pid();
  }
  errno = 0;
  CHECK(::kill(pid, 0) != 0);
  CHECK(errno == ESRCH);
}

TEST_CASE("RunCommand returns the exit code and forwards output", "[unit][child_process]") {
  Lines lines;
  auto code = RunCommand({.command = "echo hook ran; exit 4",
                          .capture_stdout = true,  // ignored
                          .output = lines.Sink()},
                         milliseconds(60000));
  CHECK(code.value() == 4);
  CHECK(lines.lines == std::vector<std::string>{"hook ran"});
}

TEST_CASE("RunCommand stops a command that outlives its timeout", "[unit][child_process]") {
  const auto start = Clock::now();
  auto code = RunCommand({.command = "sleep 60 | sleep 60"}, milliseconds(200));
  REQUIRE_FALSE(code);
  CHECK(code.error().code() == ErrorCode::kCancelled);
  CHECK(code.error().message() == "timed out after 200 ms");
  CHECK(SecondsSince(start) < 20);
}

TEST_CASE("RunCommand stops a command once the cancel flag is set", "[unit][child_process]") {
  std::atomic<bool> cancel{false};
  const auto start = Clock::now();
  auto code = RunCommand(
      {.command = "echo ready; sleep 60", .output = [&](const std::string&) { cancel = true; }},
      milliseconds(600000), &cancel);
  REQUIRE_FALSE(code);
  CHECK(code.error().code() == ErrorCode::kCancelled);
  CHECK(code.error().message() == "cancelled");
  CHECK(SecondsSince(start) < 20);
}

}  // namespace
}  // namespace coffre
