// Fuzz target: the coffre-agent configuration file (TOML, read by
// ParseAgentConfig the way LoadAgentConfig hands it a file of at most
// 1 MiB). Every input must give a configuration or one kInvalidArgument
// line; an exception escaping the parser, a crash, a hang or undefined
// behaviour (in the parser, toml11, the calendar, sizes, durations,
// retention rules) is a finding.
#include <string_view>

#include "agent/daemon/agent_config.h"
#include "tests/fuzz/fuzz_support.h"

using namespace coffre;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;  // LoadAgentConfig refuses larger files
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = daemon::ParseAgentConfig(text, "fuzz.conf");
  if (!config) {
    fuzz::Check(config.error().code() == ErrorCode::kInvalidArgument,
                "a bad configuration gives another error than invalid argument");
  }
  return 0;
}
