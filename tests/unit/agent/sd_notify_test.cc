// systemd's notification protocol without libsystemd: a datagram reaches the
// socket NOTIFY_SOCKET names; without it nothing is sent; the watchdog
// period is read from WATCHDOG_USEC for this pid only.
#include "agent/daemon/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>

#include "agent/util/fd.h"
#include "tests/support/temp_dir.h"

namespace coffre::daemon {
namespace {

TEST_CASE("SdNotify sends its state to the socket NOTIFY_SOCKET names", "[unit][sd_notify]") {
  testing::TempDir dir;
  const std::string path = dir.Sub("notify");
  UniqueFd sock(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  REQUIRE(sock.valid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  REQUIRE(bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);

  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  SdNotify("READY=1\nSTATUS=waiting");
  unsetenv("NOTIFY_SOCKET");
  SdNotify("WATCHDOG=1");  // no socket named: nothing is sent

  char buf[256];
  ssize_t n = recv(sock.get(), buf, sizeof(buf), MSG_DONTWAIT);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<size_t>(n)) == "READY=1\nSTATUS=waiting");
  CHECK(recv(sock.get(), buf, sizeof(buf), MSG_DONTWAIT) < 0);
}

TEST_CASE("WatchdogInterval reads WATCHDOG_USEC for this process only", "[unit][sd_notify]") {
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  CHECK(!WatchdogInterval());
  setenv("WATCHDOG_USEC", "120000000", 1);
  REQUIRE(WatchdogInterval());
  CHECK(WatchdogInterval()->count() == 120000);
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  CHECK(!WatchdogInterval());  // meant for another process
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  CHECK(WatchdogInterval());
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
}

}  // namespace
}  // namespace coffre::daemon
