// Process identity tags: a running process is never judged gone; one that
// exited, or whose pid now names another process, is; a record from
// another machine or namespace never is.
#include "agent/util/process_identity.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace coffre {
namespace {

// A child that waits until its stdin closes; returns its pid.
pid_t WaitingChild(int* write_end) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[1]);
    char c;
    (void)!::read(fds[0], &c, 1);
    ::_exit(0);
  }
  ::close(fds[0]);
  *write_end = fds[1];
  return pid;
}

TEST_CASE("a running process is not gone, and an exited one is", "[unit][process_identity]") {
  auto machine = MachineTag();
  REQUIRE(machine);  // Linux with /proc
  auto self = ProcessTag(::getpid());
  REQUIRE(self);
  CHECK_FALSE(ProcessGone(*machine, ::getpid(), *self));

  int release = -1;
  pid_t child = WaitingChild(&release);
  auto tag = ProcessTag(child);
  REQUIRE(tag);
  CHECK(*tag != *self);
  CHECK_FALSE(ProcessGone(*machine, child, *tag));
  ::close(release);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK_FALSE(ProcessTag(child));
  CHECK(ProcessGone(*machine, child, *tag));
}

TEST_CASE("a process that ended but was not waited for (a zombie) is gone",
          "[unit][process_identity]") {
  auto machine = MachineTag();
  REQUIRE(machine);
  int release = -1;
  pid_t child = WaitingChild(&release);
  auto tag = ProcessTag(child);
  REQUIRE(tag);
  ::close(release);
  // Not reaped yet: wait until the kernel has made it a zombie.
  siginfo_t info{};
  REQUIRE(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) == 0);
  CHECK_FALSE(ProcessTag(child));
  CHECK(ProcessGone(*machine, child, *tag));
  REQUIRE(::waitpid(child, nullptr, 0) == child);
}

TEST_CASE("a pid that now names another process counts as gone", "[unit][process_identity]") {
  auto machine = MachineTag();
  REQUIRE(machine);
  // Our own pid with another process's tag: what a reused pid looks like.
  IdentityTag other = *ProcessTag(::getpid());
  other[0] ^= 0xff;
  CHECK(ProcessGone(*machine, ::getpid(), other));
}

TEST_CASE("a record from another machine or namespace is never judged gone",
          "[unit][process_identity]") {
  auto machine = MachineTag();
  REQUIRE(machine);
  IdentityTag elsewhere = *machine;
  elsewhere[3] ^= 0x01;
  IdentityTag any{1, 2, 3, 4};
  CHECK_FALSE(ProcessGone(elsewhere, 999999, any));  // no such pid here, still not "gone"
}

}  // namespace
}  // namespace coffre
