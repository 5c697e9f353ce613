#include "agent/util/process_identity.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "core/crypto/hash.h"

namespace coffre {

namespace {

IdentityTag TagOf(const std::string& text) {
  const crypto::Digest digest = crypto::Sha256(AsBytes(text));
  IdentityTag tag;
  std::copy_n(digest.begin(), tag.size(), tag.begin());
  return tag;
}

std::optional<std::string> FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty()) return std::nullopt;
  return line;
}

// Field 22 of /proc/PID/stat: when the process started, in clock ticks
// since boot; nullopt for a process that has ended. The name in field 2 may hold spaces and parentheses, so the
// fields are counted from its last ')'.
std::optional<std::string> StartTicks(pid_t pid) {
  auto stat = FirstLine("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 1));
  std::string field;
  for (int n = 3; n <= 22; ++n) {
    if (!(fields >> field)) return std::nullopt;
    // Field 3, the state: a zombie (Z) or a dying process (X) has ended;
    // only its parent's wait is missing, and that may never come.
    if (n == 3 && (field == "Z" || field == "X")) return std::nullopt;
  }
  return field;
}

}  // namespace

std::optional<IdentityTag> MachineTag() {
  auto boot = FirstLine("/proc/sys/kernel/random/boot_id");
  char ns[64] = {};
  const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
  if (!boot || n <= 0) return std::nullopt;
  return TagOf("coffre machine\n" + *boot + "\n" + std::string(ns, static_cast<size_t>(n)));
}

std::optional<IdentityTag> ProcessTag(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto start = StartTicks(pid);
  if (!start) return std::nullopt;
  return TagOf("coffre process\n" + std::to_string(pid) + "\n" + *start);
}

bool ProcessGone(const IdentityTag& machine, pid_t pid, const IdentityTag& process) {
  const auto here = MachineTag();
  if (!here || *here != machine) return false;
  const auto now = ProcessTag(pid);
  return !now || *now != process;
}

}  // namespace coffre
