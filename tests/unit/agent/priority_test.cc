// SetCpuNice / SetIoPriority: the values read back from the kernel, on every
// thread for kProcess and on the caller only for kThread; the parse table of
// --ionice. Process-wide changes run in a forked child, so the test binary
// keeps its priority.
#include "agent/util/priority.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

namespace coffre {
namespace {

// Runs `check` in a forked child and returns its result: 0 for success, or
// the number of the first check that failed (Catch cannot report from there).
int InChild(const std::function<int()>& check) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(check());
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

// Field 19 of /proc/self/task/TID/stat: the nice value as ps shows it.
int NiceFromProc(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after "(comm) "
  std::string field;
  for (int i = 3; i <= 19; ++i) fields >> field;  // fields 3..19
  return std::stoi(field);
}

// A thread that starts now and, when released, runs `probe` and reports.
template <typename T>
struct WaitingThread {
  explicit WaitingThread(std::function<T()> probe)
      : thread([this, probe] {
          tid.set_value(::gettid());
          release.get_future().wait();
          result.set_value(probe());
        }) {}
  T Probe() {
    release.set_value();
    T value = result.get_future().get();
    thread.join();
    return value;
  }
  std::promise<pid_t> tid;
  std::promise<void> release;
  std::promise<T> result;
  std::thread thread;
};

TEST_CASE("a higher nice value reaches every thread, old and new", "[unit][priority]") {
  CHECK(InChild([] {
          const int target = std::min(GetCpuNice() + 5, 19);
          WaitingThread<int> old_thread([] { return GetCpuNice(); });
          const pid_t old_tid = old_thread.tid.get_future().get();
          if (!SetCpuNice(target).ok()) return 1;
          if (GetCpuNice() != target) return 2;
          if (NiceFromProc(::gettid()) != target) return 3;
          if (NiceFromProc(old_tid) != target) return 4;
          if (old_thread.Probe() != target) return 5;
          int in_new_thread = -100;
          std::thread([&] { in_new_thread = GetCpuNice(); }).join();
          if (in_new_thread != target) return 6;
          return 0;
        }) == 0);
}

TEST_CASE("a thread-scoped nice value leaves the other threads alone", "[unit][priority]") {
  const int before = GetCpuNice();
  const int target = std::min(before + 3, 19);
  int in_thread = -100;
  Status status;
  std::thread([&] {
    status = SetCpuNice(target, PriorityScope::kThread);
    in_thread = GetCpuNice();
  }).join();
  REQUIRE(status.ok());
  CHECK(in_thread == target);
  CHECK(GetCpuNice() == before);
}

TEST_CASE("lowering the nice value without privileges is refused", "[unit][priority]") {
  CHECK(InChild([] {
          if (::getuid() == 0 && ::setuid(65534) != 0) return 1;
          const int current = GetCpuNice();
          if (current == -20) return 0;  // nothing lower to try
          Status status = SetCpuNice(current - 1);
          if (status.code() != ErrorCode::kPermissionDenied) return 2;
          return GetCpuNice() == current ? 0 : 3;
        }) == 0);
}

TEST_CASE("an idle I/O class reads back on every thread, old and new", "[unit][priority]") {
  CHECK(InChild([] {
          WaitingThread<IoClass> old_thread(
              [] { return GetIoPriority().value_or(IoPriority{}).io_class; });
          old_thread.tid.get_future().wait();
          if (!SetIoPriority(IoClass::kIdle, 0).ok()) return 1;
          auto mine = GetIoPriority();
          if (!mine || mine->io_class != IoClass::kIdle) return 2;
          if (old_thread.Probe() != IoClass::kIdle) return 3;
          IoClass in_new_thread = IoClass::kNone;
          std::thread([&] {
            in_new_thread = GetIoPriority().value_or(IoPriority{}).io_class;
          }).join();
          if (in_new_thread != IoClass::kIdle) return 4;

          if (!SetIoPriority({IoClass::kBestEffort, 6}).ok()) return 5;
          mine = GetIoPriority();
          if (!mine || mine->io_class != IoClass::kBestEffort || mine->level != 6) return 6;
          if (!SetIoPriority(IoClass::kNone, 0).ok()) return 7;
          mine = GetIoPriority();
          if (!mine || mine->io_class != IoClass::kNone) return 8;
          return 0;
        }) == 0);
}

TEST_CASE("a thread-scoped I/O class leaves the other threads alone", "[unit][priority]") {
  auto before = GetIoPriority();
  REQUIRE(before);
  REQUIRE(before->io_class != IoClass::kIdle);
  Result<IoPriority> in_thread;
  Status status;
  std::thread([&] {
    status = SetIoPriority(IoClass::kIdle, 0, PriorityScope::kThread);
    in_thread = GetIoPriority();
  }).join();
  REQUIRE(status.ok());
  REQUIRE(in_thread);
  CHECK(in_thread->io_class == IoClass::kIdle);
  CHECK(GetIoPriority()->io_class == before->io_class);
}

TEST_CASE("priorities out of range are refused", "[unit][priority]") {
  CHECK(SetCpuNice(20).code() == ErrorCode::kInvalidArgument);
  CHECK(SetCpuNice(-21).code() == ErrorCode::kInvalidArgument);
  CHECK(SetIoPriority(IoClass::kBestEffort, 8).code() == ErrorCode::kInvalidArgument);
  CHECK(SetIoPriority(IoClass::kBestEffort, -1).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("ParseIoPriority reads the four forms and refuses the rest", "[unit][priority]") {
  struct Case {
    const char* text;
    IoClass io_class;
    int level;
  };
  for (const Case& c : {Case{"idle", IoClass::kIdle, 0}, Case{"none", IoClass::kNone, 0},
                        Case{"best-effort", IoClass::kBestEffort, 4},
                        Case{"best-effort:0", IoClass::kBestEffort, 0},
                        Case{"best-effort:7", IoClass::kBestEffort, 7}}) {
    INFO(c.text);
    auto parsed = ParseIoPriority(c.text);
    REQUIRE(parsed);
    CHECK(parsed->io_class == c.io_class);
    CHECK(parsed->level == c.level);
    if (c.io_class != IoClass::kBestEffort || c.level != 4) {
      CHECK(FormatIoPriority(*parsed) == c.text);
    }
  }
  for (const char* text : {"", "Idle", "idle:3", "best-effort:8", "best-effort:", "best-effort:-1",
                           "best-effort:07", "best-effort:3 ", "realtime", "rt:0", "3", "be:2"}) {
    INFO(text);
    auto parsed = ParseIoPriority(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace coffre
